"""Shelfsight settings: one module, every deployment difference read from the environment.

The defaults run with nothing beside Python: SQLite, django-q2's ORM broker, a local-memory
cache and the built-in local analyser. ``DATABASE_URL`` switches to PostgreSQL,
``REDIS_URL`` to Redis for the task broker and the shared cache. These are the only
variables read: README.md ("Configuration") lists each once, and tests/config/test_settings_docs.py
keeps that table and this module in step. Everything else is a constant here or in the code that
uses it.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


DEBUG = env_bool("DJANGO_DEBUG", True)

# A development key is fine while DEBUG is on; a production process must be given one.
_DEVELOPMENT_SECRET_KEY = "shelfsight-development-only-key-never-use-in-production-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (_DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "catalog",
    "tagging",
    "llm",
    "recommendations",
    "storefront",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Data -------------------------------------------------------------------------------
VAR_DIR = Path(os.environ.get("SHELFSIGHT_VAR_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'shelfsight.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; the timeout rides out short
    # write locks instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Connections stay open: django-q2's ORM broker calls close_old_connections() on every
    # enqueue and dequeue, and closing (and checkpointing) the SQLite file is not free; the web
    # process gains the same (BENCHMARKS.md).
    DATABASES["default"]["CONN_MAX_AGE"] = 600
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "shelfsight",
        }
    }
else:
    # The database cache is shared by the web process and every qcluster worker, which the
    # model gateway's circuit breaker and canary statistics need; locmem would not be.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.DatabaseCache",  # Django's, with an atomic incr()
            "LOCATION": "shelfsight_cache",
            # Django's default (300) is smaller than one page of cached storefront answers; a
            # cull past it drops a third of the entries, recommendation versions included.
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }
# Throttle counters are written on every API request: in Redis they are shared by every
# process; without Redis they stay in each process's memory (the limit then applies per
# process, i.e. a client may get up to workers × rate), since one database-cache write per
# request would cost more than the request itself.
CACHES["throttle"] = (
    {**CACHES["default"], "KEY_PREFIX": "shelfsight-throttle"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "shelfsight-throttle",
        "OPTIONS": {"MAX_ENTRIES": 100_000},  # two keys per client; culling would reset their counts
    }
)
# Django's Redis backend builds a new redis-py client for every cache call (tens of µs of CPU,
# more than a round trip to a local Redis); config.cache.RedisCache keeps one per pool.
for _alias in CACHES.values():
    if _alias["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        _alias["BACKEND"] = "config.cache.RedisCache"

# --- Background jobs (django-q2) -----------------------------------------------------------
# django-q2's own options (its documentation explains each); only the worker count is read from
# the environment. A running analysis is leased for "timeout" seconds (tagging.services), and
# retry must exceed timeout and the longest task, or django-q2 runs a task twice.
_TASK_TIMEOUT = 300
Q_CLUSTER = {
    "name": "shelfsight",
    "workers": env_int("SHELFSIGHT_WORKERS", 2),
    "timeout": _TASK_TIMEOUT,
    "retry": _TASK_TIMEOUT + 60,
    "max_attempts": 3,
    "ack_failures": True,
    # Each saved success costs its task a read of every kept row (django-q2 prunes that way);
    # outcomes live on ImageAnalysis, so the saved tasks are only for looking back in the admin.
    "save_limit": 1000,
    # Tasks a cluster prefetches; a graceful stop runs them all first.
    "queue_limit": 50,
    # ORM broker only: how often idle workers look for tasks, and how many one look takes.
    "poll": 0.1,
    "bulk": 1,
    "label": "Background jobs",
    "catch_up": False,
    # A cluster started with Q_CLUSTER_NAME=backfill serves `backfill_tags --queue backfill`
    # (docs/scaling.md).
    "ALT_CLUSTERS": {"backfill": {}},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, i18n, static and media ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Uploads as sent, for staff only: never under MEDIA_ROOT, which a web server may serve.
    "originals": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "private"},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
# The largest image accepted is catalog.images.MAX_UPLOAD_BYTES (20 MB), checked before Pillow
# sees it. A file above FILE_UPLOAD_MAX_MEMORY_SIZE is spooled to a temporary file instead of
# memory; DATA_UPLOAD_MAX_MEMORY_SIZE bounds the rest of a request body (form fields, JSON), not
# the files in it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Proxies --------------------------------------------------------------------------------
# X-Forwarded-* headers are whatever the client sent unless a proxy we run wrote them: they are
# read only when this many proxies stand in front (each appends the address it saw), so a client
# cannot pick its own address for the rate limits or claim HTTPS. 0 (default): the socket's address.
SHELFSIGHT_TRUSTED_PROXIES = env_int("SHELFSIGHT_TRUSTED_PROXIES", 0)

# --- Production hardening (check --deploy is clean with DJANGO_DEBUG=0) --------------------
if not DEBUG and SHELFSIGHT_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    # Throttles identify anonymous clients by address: from X-Forwarded-For only behind our proxies.
    "NUM_PROXIES": SHELFSIGHT_TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_CLASSES": [
        "catalog.api.throttling.AnonReadThrottle",
        "catalog.api.throttling.UserReadThrottle",
    ],
    # Per client: anonymous clients by address, the rest by account (writes apart).
    "DEFAULT_THROTTLE_RATES": {"anon": "6000/min", "user": "12000/min", "writes": "600/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shelfsight storefront API",
    "DESCRIPTION": "Catalog, tags and recommendations for storefronts and integrations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: the machines running Shelfsight may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ProductStatusEnum": "catalog.models.Product.Status",
        "ImageAnalysisStatusEnum": "tagging.models.ImageAnalysis.Status",
    },
}

# --- Shelfsight -----------------------------------------------------------------------------
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
# The model of every route staff have not configured in the admin (docs/providers.md).
SHELFSIGHT_VISION_MODEL = os.environ.get("SHELFSIGHT_VISION_MODEL", "gemini-2.5-flash")
# Seconds per model call, for every provider staff have not given a timeout of its own.
SHELFSIGHT_LLM_TIMEOUT = env_float("SHELFSIGHT_LLM_TIMEOUT", 30.0)
# Off: only authenticated clients (a storefront's token) may make re-ranks spend model budget.
SHELFSIGHT_RERANK_ANONYMOUS = env_bool("SHELFSIGHT_RERANK_ANONYMOUS", False)
SHELFSIGHT_WEBHOOK_URL = os.environ.get("SHELFSIGHT_WEBHOOK_URL", "")
SHELFSIGHT_WEBHOOK_SECRET = os.environ.get("SHELFSIGHT_WEBHOOK_SECRET", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        # httpx logs request lines at INFO; keep them out so nothing request-shaped leaks.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
    },
}
