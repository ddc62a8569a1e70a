"""Myodiary: the REST backend of a diary for benign myoclonic movements."""
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# First: marshmallow's own messages become translatable before any schema copies them (backend/validation.py)
from backend import validation  # noqa: F401

# isort: split
from backend import auth, headers, i18n, observability, ratelimit_storage  # noqa: F401 (its table, for the limits)
from backend.accounts.tokens import authenticate
from backend.clinic import audit
from backend.config import PROJECT_ROOT, Config
from backend.database import configure_engine
from backend.errors import register_error_handlers
from backend.extensions import api, cors, csrf, db, limiter, migrate
from backend.logs import install_redaction
from backend.observability.log_format import configure_logging
from backend.trends.freshness import install_listeners as install_freshness_listeners
from backend.versioning import install_listeners


def create_app(config_class: type[Config] = Config) -> Flask:
    app = Flask(__name__, instance_path=str(config_class.INSTANCE_DIR))
    app.config.from_object(config_class)
    config_class.finalize(app.config)
    app.json.sort_keys = False  # keys in the order the schemas give them (Flask 3 dropped JSON_SORT_KEYS)
    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    register_error_handlers(app, db.session)
    auth.install(app, authenticate)
    audit.install(app)
    headers.install(app)
    observability.install(app)  # request ids, /metrics, traces (issue 24)
    _register_cli(app)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
    return app


def _configure_logging(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    app.logger.setLevel(app.config["LOG_LEVEL"])
    install_redaction()
    install_redaction(app.logger)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    install_listeners()
    install_freshness_listeners()
    i18n.install(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "A token from POST /api/v1/tokens"})
    api.spec.components.response(  # tus's own status, which HTTP does not name
        "CHECKSUM_MISMATCH", {"description": "Checksum Mismatch: the bytes do not match Upload-Checksum",
                              "content": {"application/json": {"schema": "Error"}}})
    if app.config["RATELIMIT_STORAGE_URI"].startswith("myodiary-db://"):  # counters in our own database
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {})["database_url"] = app.config["SQLALCHEMY_DATABASE_URI"]
    limiter.init_app(app)
    ratelimit_storage.end_failed_transactions(app)
    csrf.init_app(app)
    cors.init_app(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
                  expose_headers=["Location", "Upload-Offset", "Upload-Length", "Upload-Expires", "Tus-Resumable",
                                  "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Content-Range"])


def _register_blueprints(app: Flask) -> None:
    from backend import api_docs, health
    from backend.accounts import routes as account_routes
    from backend.care_teams import views as care_team_views
    from backend.children import views as children_views
    from backend.clinic import views as clinic_views
    from backend.dashboard import pages as dashboard_pages
    from backend.diary import views as diary_views
    from backend.privacy import views as privacy_views
    from backend.reminders import views as reminder_views
    from backend.sync import views as sync_views
    from backend.trends import views as trends_views
    from backend.videos import views as video_views

    for blueprint in (health.blp, account_routes.blp, children_views.blp, care_team_views.blp,
                      diary_views.blp, sync_views.blp, trends_views.blp, reminder_views.blp, clinic_views.blp,
                      privacy_views.blp, video_views.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(api_docs.blp)
    app.register_blueprint(dashboard_pages.bp)


def _register_cli(app: Flask) -> None:
    from backend.cli import register_commands

    register_commands(app)
