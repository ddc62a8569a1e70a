"""Extension objects, created once and bound to the app in create_app."""
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from backend.errors import ErrorSchema, error_payload

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HTML_PAGE = {"type": "string", "description": "an HTML page"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MyodiaryApi(Api):
    """flask-smorest's Api with the project's one error shape."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, **kwargs):
        super().init_app(app, **kwargs)
        # Links in emails open pages, not JSON: one that is not valid gets a page saying so.
        self.spec.components.response("LINK_NOT_VALID", {
            "description": "The link is not valid: a page saying so",
            "content": {"text/html": {"schema": HTML_PAGE}}})

    def handle_http_exception(self, error):
        return error_payload(error)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = MyodiaryApi()
limiter = Limiter(key_func=get_remote_address)
cors = CORS()
csrf = CSRFProtect()  # checks only where asked: the dashboard's forms (WTF_CSRF_CHECK_DEFAULT off)
