"""The signed-in caller of an API request, for the views of every feature.

Views behind `login_required` find the caller with `current_user()`. How a request proves who it is
(a bearer token: backend.accounts.tokens) is the accounts' business, which create_app plugs in with
`install`; so a feature's views need a signed-in caller without depending on accounts.
"""
from functools import wraps

from flask import Flask, current_app, g

_AUTHENTICATE = "myodiary_authenticate"


def install(app: Flask, authenticate) -> None:
    """`authenticate()` puts the request's caller in g.current_user and returns it, or aborts with a 401."""
    app.extensions[_AUTHENTICATE] = authenticate


def authenticate():
    return current_app.extensions[_AUTHENTICATE]()


def login_required(view):
    """Views behind this decorator find the caller in g.current_user."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        authenticate()
        return view(*args, **kwargs)
    return wrapper


def current_user():
    return g.current_user
