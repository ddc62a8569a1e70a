"""Configuration read from the environment, with safe defaults for a laptop."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from backend.private_files import private_folder, write_private

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("MYODIARY_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'myodiary.sqlite3'}"


def database_url(url: str | None) -> str:
    """DATABASE_URL as given, with PostgreSQL URLs pointed at psycopg 3."""
    if not url:
        return default_database_url()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def load_or_create_secret_key(instance_dir: Path) -> str:
    """Read the key kept in instance/, writing a new random one on first run."""
    path = instance_dir / "secret_key"
    if not path.exists():
        write_private(private_folder(instance_dir) / "secret_key", secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


class Config:
    # Deployment
    INSTANCE_DIR = str(INSTANCE_DIR)  # the SQLite database, the generated key, the outbox
    APP_ENV = os.environ.get("APP_ENV", "development")  # "production" demands a SECRET_KEY
    SECRET_KEY = os.environ.get("SECRET_KEY")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)  # trusted reverse proxies in front
    CORS_ORIGINS = _env_list("CORS_ORIGINS")

    # Operating it (backend/observability): Prometheus metrics, the log format, traces
    METRICS_ENABLED = os.environ.get("METRICS_ENABLED", "true").lower() in ("1", "true", "yes")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")  # /metrics for callers beyond loopback, as a bearer token
    SCHEDULER_METRICS_PORT = _env_int("SCHEDULER_METRICS_PORT", 0)  # the scheduler's own /metrics; 0: none
    SCHEDULER_METRICS_ADDRESS = os.environ.get("SCHEDULER_METRICS_ADDRESS", "127.0.0.1")
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").lower()  # text, or json: one object per line
    OTEL_EXPORTER_OTLP_ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")  # traces; empty: none
    OTEL_SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "myodiary")

    # Database
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # Requests
    MAX_CONTENT_LENGTH = _env_int("MAX_BODY_BYTES", 8 * 1024 * 1024)

    # Accounts
    TOKEN_LIFETIME_HOURS = _env_int("TOKEN_LIFETIME_HOURS", 24 * 30)
    INVITE_LIFETIME_DAYS = 7
    PURGE_AFTER_DAYS = _env_int("PURGE_AFTER_DAYS", 30)  # deleted children and accounts, then removed for real
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST_KIB = _env_int("ARGON2_MEMORY_COST_KIB", 64 * 1024)
    # Failed sign-ins only (API, dashboard and two-factor codes together; backend/accounts/signin_limits.py).
    # Per account AND client address, so that guesses from elsewhere never lock the owner out;
    SIGNIN_FAILURES_PER_ACCOUNT = os.environ.get(
        "SIGNIN_FAILURES_PER_ACCOUNT", "5 per minute;20 per hour")
    SIGNIN_FAILURES_PER_ADDRESS = os.environ.get(
        "SIGNIN_FAILURES_PER_ADDRESS", "30 per minute;200 per hour")
    # past this many failures on one account in an hour, from anywhere, each attempt first waits (doubling).
    SIGNIN_BRAKE_AFTER = _env_int("SIGNIN_BRAKE_AFTER", 20)
    SIGNIN_BRAKE_MAX_SECONDS = _env_int("SIGNIN_BRAKE_MAX_SECONDS", 4)
    # Limits are counted in the app's own database by default, so every worker and replica shares them
    # (backend/ratelimit_storage.py); redis://... works too; memory:// counts per process.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "myodiary-db://")
    RATELIMIT_HEADERS_ENABLED = True
    REGISTRATIONS_PER_ADDRESS = os.environ.get("REGISTRATIONS_PER_ADDRESS", "10 per hour;50 per day")
    VERIFICATION_EMAILS_PER_ACCOUNT = os.environ.get("VERIFICATION_EMAILS_PER_ACCOUNT", "3 per hour")
    PASSWORD_RESETS_PER_ACCOUNT = os.environ.get("PASSWORD_RESETS_PER_ACCOUNT", "3 per hour")
    PASSWORD_RESETS_PER_ADDRESS = os.environ.get("PASSWORD_RESETS_PER_ADDRESS", "20 per hour;100 per day")
    EMAIL_VERIFICATION_HOURS = _env_int("EMAIL_VERIFICATION_HOURS", 72)  # how long a verification link works
    PASSWORD_RESET_MINUTES = _env_int("PASSWORD_RESET_MINUTES", 60)  # how long a reset link works
    # Clinicians must turn on two-factor sign-in (TOTP); until they do, they may sign in only to enrol.
    REQUIRE_CLINICIAN_2FA = os.environ.get("REQUIRE_CLINICIAN_2FA", "false").lower() in ("1", "true", "yes")
    ACCOUNT_EMAIL_INTERVAL_SECONDS = _env_int("ACCOUNT_EMAIL_INTERVAL_SECONDS", 5)  # the scheduler's account-email job

    # Reminder emails: SMTP when MAIL_SERVER is set, else .eml files under instance/outbox/
    APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000")  # links in emails
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "true").lower() == "true"  # STARTTLS
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "false").lower() == "true"  # SMTPS
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Myodiary <reminders@myodiary.example>")
    MAIL_TIMEOUT_SECONDS = _env_int("MAIL_TIMEOUT_SECONDS", 20)
    REMINDER_BATCH = _env_int("REMINDER_BATCH", 200)
    SCHEDULER_HEARTBEAT_STALE_SECONDS = _env_int("SCHEDULER_HEARTBEAT_STALE_SECONDS", 180)

    # Episode videos (tus uploads at /api/v1/uploads, processed by the scheduler)
    VIDEO_STORAGE = os.environ.get("VIDEO_STORAGE", "local")  # local (MEDIA_DIR) or s3
    MEDIA_DIR = os.environ.get("MEDIA_DIR", "")  # local storage; empty: INSTANCE_DIR/media
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")  # empty: AWS itself
    S3_BUCKET = os.environ.get("S3_BUCKET", "myodiary-media")
    VIDEO_MAX_SECONDS = _env_int("VIDEO_MAX_SECONDS", 300)
    VIDEO_MAX_BYTES = _env_int("VIDEO_MAX_BYTES", 300 * 1000 * 1000)
    VIDEO_QUOTA_BYTES_PER_CHILD = _env_int("VIDEO_QUOTA_BYTES_PER_CHILD", 5 * 1000 * 1000 * 1000)
    UPLOAD_EXPIRES_HOURS = _env_int("UPLOAD_EXPIRES_HOURS", 24)  # incomplete uploads, then removed

    # OpenAPI (flask-smorest)
    API_TITLE = "Myodiary API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "v1/openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
    API_SPEC_OPTIONS = {
        "info": {"description": "The REST backend of Myodiary, a diary for benign myoclonic "
                                "movements: accounts, children, care teams. Every error has "
                                "the Error shape."},
        "security": [{"bearerAuth": []}],
    }

    # The dashboard's session cookie: HttpOnly and SameSite=Lax always, Secure in production (HTTPS).
    SESSION_COOKIE_NAME = "myodiary_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "").lower() in ("1", "true", "yes")
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("DASHBOARD_SESSION_HOURS", 12))
    WTF_CSRF_CHECK_DEFAULT = False  # the dashboard checks its own forms; the bearer-token API needs no CSRF
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    DASHBOARD_PAGE_SIZE = _env_int("DASHBOARD_PAGE_SIZE", 500)

    @classmethod
    def finalize(cls, config: dict) -> None:
        """Fill what depends on the environment as a whole; refuse unsafe settings."""
        if config["APP_ENV"] == "production":
            config["SESSION_COOKIE_SECURE"] = True
        config["MEDIA_DIR"] = config["MEDIA_DIR"] or str(Path(config["INSTANCE_DIR"]) / "media")
        if config["LOG_FORMAT"] not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be text or json, not {config['LOG_FORMAT']!r}")
        if config["SECRET_KEY"]:
            return
        if config["APP_ENV"] == "production":
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        config["SECRET_KEY"] = load_or_create_secret_key(Path(config["INSTANCE_DIR"]))
