"""Rasterlab settings, driven by environment variables (see README "Settings").

Environment is read here only. Nothing is started at import time: the embedded Redis for
development is started by ``backend.launcher`` (``make run``) and by the test suite's conftest.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from backend.secret_key import data_dir_from_env, read_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("RASTERLAB_DEBUG", False)
DATA_DIR = data_dir_from_env(BASE_DIR)

# Never a key from the repository in production: SECRET_KEY, else the key `make run` created in the
# data directory (backend.secret_key), else a development key only with RASTERLAB_DEBUG.
SECRET_KEY = os.environ.get("SECRET_KEY") or read_secret_key(DATA_DIR) or (
    "rasterlab-insecure-development-key-for-debug-only" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it to a long random value (e.g. python -c 'import secrets; "
        f"print(secrets.token_urlsafe(64))'), or start once with `make run`, which keeps one in {DATA_DIR}/"
        "secret_key, or set RASTERLAB_DEBUG=true for development."
    )

# Host names this instance answers to. Not "*": the websocket origin check and Django's host check
# rely on it (set RASTERLAB_ALLOWED_HOSTS to the public name when serving beyond this machine).
_LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
_SERVED_HOST = os.environ.get("RASTERLAB_HOST", "")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get(
    "RASTERLAB_ALLOWED_HOSTS",
    ",".join(_LOCAL_HOSTS + ([_SERVED_HOST] if _SERVED_HOST not in ("", "0.0.0.0", "::") else []))).split(",")
    if h.strip()]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("RASTERLAB_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# HTTPS (README "Deploying"): RASTERLAB_HTTPS=true turns on the redirect, secure cookies and HSTS;
# each can be set on its own too. Behind a TLS-terminating proxy also set RASTERLAB_PROXY_SSL_HEADER.
_HTTPS = _env_bool("RASTERLAB_HTTPS", False)
SECURE_SSL_REDIRECT = _env_bool("RASTERLAB_SSL_REDIRECT", _HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("RASTERLAB_SECURE_COOKIES", _HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("RASTERLAB_HSTS_SECONDS", "31536000" if _HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("RASTERLAB_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = _env_bool("RASTERLAB_HSTS_PRELOAD", False)
if _env_bool("RASTERLAB_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
MAX_UPLOAD_MB = int(os.environ.get("RASTERLAB_MAX_UPLOAD_MB", "2048"))
MAX_MODEL_UPLOAD_MB = int(os.environ.get("RASTERLAB_MAX_MODEL_UPLOAD_MB", "1024"))
# TorchScript model packages can run code their author wrote when loaded: off unless an admin allows them.
ALLOW_TORCHSCRIPT = _env_bool("RASTERLAB_ALLOW_TORCHSCRIPT", False)
# The map's optional basemap: an XYZ tile URL ("" for none); the browser tries one tile first.
BASEMAP_URL = os.environ.get("RASTERLAB_BASEMAP_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
BASEMAP_ATTRIBUTION = os.environ.get(
    "RASTERLAB_BASEMAP_ATTRIBUTION",
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors' if "openstreetmap.org"
    in BASEMAP_URL else "",
)
# A raster upload may declare at most this many pixels (width x height), and expand at most this
# many times (pixel bytes / file bytes, above 1 GiB of pixels): sparse "bomb" GeoTIFFs are refused.
MAX_RASTER_PIXELS = int(os.environ.get("RASTERLAB_MAX_RASTER_PIXELS", "4000000000"))
MAX_RASTER_EXPANSION = float(os.environ.get("RASTERLAB_MAX_RASTER_EXPANSION", "200"))

# One Redis URL for RQ, the channel layer and the cache. Unset: the embedded private Redis that
# `make run` (backend.launcher) and the tests start on this unix socket.
EMBEDDED_REDIS_SOCKET = DATA_DIR / "run" / "redis.sock"
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{EMBEDDED_REDIS_SOCKET}?db=0"
REDIS_IS_EMBEDDED = not os.environ.get("REDIS_URL")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_rq",
    "apps.jobs",
    "apps.labeling",
    "apps.models",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.api.params.IdMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'rasterlab.sqlite3'}",
        # 0: under ASGI each request may run in a new thread; persistent connections would pile up.
        conn_max_age=int(os.environ.get("RASTERLAB_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and tests share the file: wait for locks instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE",
                                       "init_command": "PRAGMA journal_mode=WAL;"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # sessions read from Redis
LOGIN_URL = "/accounts/login/"
# Brute force: this many failed sign-ins for one username (ten times as many from one address)
# lock it out (429) for the rest of a window of this many seconds (backend.api.login_throttle).
LOGIN_MAX_FAILURES = int(os.environ.get("RASTERLAB_LOGIN_MAX_FAILURES", "10"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("RASTERLAB_LOGIN_LOCKOUT_SECONDS", "900"))
# API tokens older than this many hours are refused (0: they never expire; rotate or revoke them
# through /api/auth/token/).
TOKEN_TTL_HOURS = float(os.environ.get("RASTERLAB_TOKEN_TTL_HOURS", "0"))
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [("app", FRONTEND_DIST)]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads stream to disk in chunks; the view enforces MAX_UPLOAD_MB (-> 413).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "tmp")
# Every other multipart body (e.g. to the sign-in page) is capped at the largest upload limit.
FILE_UPLOAD_HANDLERS = ["backend.api.uploads.AnyUploadCapHandler"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "backend.api.token_auth.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "backend.api.parsers.JSONParser",  # deep nesting -> 400, not RecursionError
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "backend.api.pagination.DefaultPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "backend.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rasterlab API",
    "DESCRIPTION": "Imagery, labels, training data, model packages and jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "PATH_CONVERTER_OVERRIDES": {"id": int},  # backend.api.params.IdConverter
    "ENUM_NAME_OVERRIDES": {"RasterKindEnum": "apps.labeling.models.Raster.Kind",
                            "LayerKindEnum": "apps.labeling.layer_models.Layer.Kind"},
}


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py's default 5 s socket timeout equals channels_redis's blocking-read timeout, which
        # dropped every websocket after ~5 s: give reads more room.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": "rasterlab:asgi", "capacity": 1000, "expiry": 60},
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rasterlab",
    }
}

# Queues: "default" for short work (ingest, export, import, NMS), "long" for training and inference
# (CPU), "gpu" for work that asks for processor_type GPU. Each has its own worker in `make run`, so a
# short job never waits behind an hour of training.
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 24 * 3600} for name in ("default", "long", "gpu")
}
RQ = {"WORKER_CLASS": "apps.jobs.worker.RasterlabWorker"}

# Jobs: a running job's worker writes a heartbeat; a job whose heartbeat is older than this is
# declared dead (worker killed) and failed, or re-queued once when its kind is retryable.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("RASTERLAB_JOB_HEARTBEAT_SECONDS", "5"))
JOB_STALE_AFTER_SECONDS = float(os.environ.get("RASTERLAB_JOB_STALE_AFTER_SECONDS", "60"))
JOB_PROGRESS_MIN_INTERVAL = float(os.environ.get("RASTERLAB_JOB_PROGRESS_MIN_INTERVAL", "0.25"))
JOB_LOG_MAX_LINES = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RASTERLAB_LOG_LEVEL", "INFO")},
    "loggers": {"rasterio": {"level": "WARNING"}, "daphne": {"level": "WARNING"}, "numexpr": {"level": "WARNING"}},
}


def redis_host_label() -> str:
    """A printable Redis location without credentials (for logs and the launcher)."""
    parts = urlsplit(REDIS_URL)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
