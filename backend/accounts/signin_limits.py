"""One set of limits for every way of signing in: the API's POST /tokens, the dashboard's form, the two-factor code.

Only failures count, and they count together whichever way they came in:
- per account and client address (SIGNIN_FAILURES_PER_ACCOUNT, e.g. 5 a minute): someone guessing one
  parent's password from one place is stopped there, and only there, so an attacker elsewhere cannot
  lock the parent out at 3 a.m.;
- per client address (SIGNIN_FAILURES_PER_ADDRESS): one place guessing many accounts;
- per account from anywhere, a brake instead of a lock: past SIGNIN_BRAKE_AFTER failures in an hour,
  every further attempt on that account waits a little longer first (doubling up to
  SIGNIN_BRAKE_MAX_SECONDS), the right password included, so a guesser spread over many addresses
  slows to a crawl while the owner still gets in.

Use `@limit_signin` on a sign-in route, under the route decorator. A step that has no email in its body
(the dashboard's code step) puts the email of the account being signed in under PENDING_EMAIL in the
(signed) session, and the limits read it from there.
"""
import time
from functools import wraps

from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from backend.extensions import db, limiter
from backend.validation import escape_lone_surrogates

PENDING_EMAIL = "signin_pending_email"
BRAKE_WINDOW_SECONDS = 3600
BRAKE_FIRST_DELAY_SECONDS = 0.25


def signin_email() -> str:
    """The account this attempt is for: the JSON body's or the form's email, else the pending sign-in's."""
    try:
        body = request.get_json(silent=True, force=True) if not request.form else None
    except RecursionError:  # nested thousands deep: the parser answers 400
        body = None
    email = body.get("email") if isinstance(body, dict) else request.form.get("email")
    email = email if isinstance(email, str) and email.strip() else session.get(PENDING_EMAIL, "")
    return escape_lone_surrogates(str(email).strip().lower())  # a lone surrogate would break a Redis key


def _pair_key() -> str:
    return f"{signin_email()}|{get_remote_address()}"


def _failed(response) -> bool:
    """A wrong email, password or code; not a 429 or a 422, and not the 401 that only asks for the code
    (two-factor sign-in: the password was right)."""
    return response.status_code == 401 and not g.get("otp_missing")


def _config(key: str):
    return lambda: current_app.config[key]


def limit_signin(view):
    """The limits above on one way of signing in (a 401 answer is a failure)."""
    @wraps(view)
    def braked(*args, **kwargs):
        email = signin_email()
        time.sleep(brake_delay(email))
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except HTTPException as error:  # abort(401): a failure too
            _count_failure(email, error.code)
            raise
        _count_failure(email, response.status_code)
        return response

    per_pair = limiter.shared_limit(_config("SIGNIN_FAILURES_PER_ACCOUNT"), scope="signin-account-address",
                                    key_func=_pair_key, deduct_when=_failed)
    per_address = limiter.shared_limit(_config("SIGNIN_FAILURES_PER_ADDRESS"), scope="signin-address",
                                       deduct_when=_failed)
    return per_pair(per_address(braked))


def _count_failure(email: str, status: int | None) -> None:
    if status == 401 and email and not g.get("otp_missing"):
        db.session.rollback()  # nothing to keep; on SQLite its write lock would hold up the counter's own write
        limiter.storage.incr(_brake_key(email), BRAKE_WINDOW_SECONDS)


def brake_delay(email: str) -> float:
    """Seconds to wait before this attempt: none until the account's failures pass the brake, then doubling."""
    if not email:
        return 0.0
    beyond = limiter.storage.get(_brake_key(email)) - current_app.config["SIGNIN_BRAKE_AFTER"]
    if beyond < 0:
        return 0.0
    return min(BRAKE_FIRST_DELAY_SECONDS * 2 ** beyond, current_app.config["SIGNIN_BRAKE_MAX_SECONDS"])


def _brake_key(email: str) -> str:
    return f"signin-brake/{email}"
