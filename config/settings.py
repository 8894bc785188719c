"""Settings, read from environment variables.

With no variable set, the product runs on its embedded default: SQLite and the
in-memory channel layer, for a single-process demo. ``DATABASE_URL`` switches to
PostgreSQL, ``REDIS_URL`` to the Redis channel layer. ``DJANGO_ENV=production``
turns on the hardened settings checked by ``manage.py check --deploy``.
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


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or default


ENVIRONMENT = os.environ.get("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV doit valoir « development » ou « production ».")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY doit être défini quand DJANGO_ENV=production.")
    # A fixed key is acceptable only for the local demo: production refuses to start without one.
    SECRET_KEY = "dev-only-insecure-key-territoires-industrie-not-for-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS doit être défini quand DJANGO_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "channels",
    "dsfr",
    "widget_tweaks",
    "viewflow",
    "viewflow.workflow",
    "accounts",
    "territories",
    "cases",
    "workflows",
    "notifications",
    "programme",
    "deadlines",
    "django_tasks_db",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

# The API (api/): the same users, scopes and services as the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.authentication.TokenAllowsWrites",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerToken"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_RATE", "600/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API Territoires d'industrie",
    "DESCRIPTION": (
        "Les contrats de territoire, demandes de dérogation, vagues et leur historique, avec "
        "les droits de l'utilisateur du jeton. Authentification : « Authorization: Bearer "
        "<jeton> », jeton créé sur la page « Jetons d'accès à l'API » du profil."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several models have a "state" or a "status": each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "CaseStateEnum": "cases.kernel.models.State",
        "WaveStateEnum": "cases.waves.models.WaveState",
        "ActionStatusEnum": "cases.contracts.models.ActionSheet.Status",
        "FinancingStatusEnum": "cases.contracts.models.FinancingLine.Status",
        "RegionOpinionEnum": "cases.derogations.models.RegionOpinion",
    },
    # The documentation page's scripts come from the project's static files, never a CDN.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Background work (e-mails) goes through Django's tasks framework, stored in the database and
# run by a separate worker process (`manage.py db_worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# E-mail: SMTP from the environment (production defaults to a local relay on port 25);
# the demo, without a host, prints mails on the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost" if PRODUCTION else "")
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": EMAIL_HOST,
                "port": int(os.environ.get("EMAIL_PORT", "25")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", default=False),
                "timeout": int(os.environ.get("EMAIL_TIMEOUT", "10")),
            },
        }
        if EMAIL_HOST
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
del EMAIL_HOST
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Territoires d'industrie <ne-pas-repondre@territoires-industrie.gouv.fr>"
)
# First delay before a failed e-mail is tried again; it doubles at each attempt.
EMAIL_RETRY_SECONDS = float(os.environ.get("EMAIL_RETRY_SECONDS", "10"))
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Where users report an accessibility problem or exercise their data rights (footer pages).
# The default is a placeholder of this project's domain, to be set for a real deployment.
CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "contact@territoires-industrie.gouv.fr")

# We render our own DSFR task pages: viewflow must not add its site and Turbo middleware.
VIEWFLOW = {"AUTOREGISTER": False}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.actors_read_once_per_request",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: their pages extend base.html, which shows the user.
    "config.middleware.RefuseNulInPathMiddleware",
    "config.middleware.DatabaseTimeoutMiddleware",
    "config.middleware.MethodNotAllowedPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.context_processors.site",
                "config.context_processors.notifications",
            ],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"


def database_config() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        return dj_database_url.parse(url, conn_max_age=0)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        # The demo's server and worker share the file: wait for the lock rather than fail.
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }


DATABASES = {"default": database_config()}
# Bounds on every web request's PostgreSQL locks and statements (config.middleware), so that
# one stuck transaction cannot stall every request behind it; 0 lifts a bound. Management
# commands and the worker are not bounded.
DB_LOCK_TIMEOUT_MS = int(os.environ.get("DB_LOCK_TIMEOUT_MS", "5000"))
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's cache (the dashboard's filter choices, programme.dashboard.figures): one per process
# unless CACHE_URL names a Redis shared by every web process and the worker. The dashboard's
# figures themselves are kept in the database, shared by all of them.
if os.environ.get("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["CACHE_URL"],
            "KEY_PREFIX": "territoires",
        }
    }
DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", "300"))


REDIS_LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "notifications.layer.PubSubLayer",
}
# The core layer's receive is a BZPOPMIN that Redis holds for up to 5 s (channels_redis 4.3's
# RedisChannelLayer.brpop_timeout) before answering that nothing came. redis-py 8's default
# socket timeout is 5 s as well, and runs out first: every consumer idle for 5 s got
# redis.exceptions.TimeoutError. The read is given room beyond the block for the answer's way
# back from a busy Redis; a Redis gone silent is still found out, only later.
CORE_LAYER_SOCKET_TIMEOUT = 15.0


def channel_prefix() -> str:
    """The layer's prefix for its Redis keys and channels. Test processes running side by side
    (pytest-xdist, in `make test`) share one Redis, whose pub/sub channels no database number
    separates: each of them gets groups of its own, and so do the servers it starts."""
    explicit = os.environ.get("CHANNEL_LAYER_PREFIX")
    return explicit or f"asgi{os.environ.get('PYTEST_XDIST_WORKER', '')}"


def channel_layers_config() -> dict:
    url = os.environ.get("REDIS_URL")
    if url:
        # Measured by bench/notify_latency.py: the default layer dropped 146 of 1,000 pushes
        # (its per-channel capacity) where pub/sub lost none, with a lower raw fan-out.
        kind = os.environ.get("REDIS_CHANNEL_LAYER", "pubsub")
        if kind not in REDIS_LAYERS:
            raise ImproperlyConfigured("REDIS_CHANNEL_LAYER doit valoir « core » ou « pubsub ».")
        # channels_redis passes a host dict's other keys to redis-py's ConnectionPool.from_url.
        host: str | dict = url
        if kind == "core":
            host = {"address": url, "socket_timeout": CORE_LAYER_SOCKET_TIMEOUT}
        config = {"hosts": [host], "prefix": channel_prefix()}
        return {"default": {"BACKEND": REDIS_LAYERS[kind], "CONFIG": config}}
    return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


CHANNEL_LAYERS = channel_layers_config()

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("FAST_PASSWORD_HASHER", default=False):
    # Tests only: the default hasher makes each login cost about half a second. A production
    # server with it would store passwords hashed with fast MD5: refuse to start instead.
    if PRODUCTION:
        raise ImproperlyConfigured(
            "FAST_PASSWORD_HASHER est réservé aux tests : "
            "il est refusé quand DJANGO_ENV=production."
        )
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# In development whitenoise serves from the apps' folders; only production collects them.
STATIC_ROOT = (
    Path(os.environ.get("STATIC_ROOT", str(BASE_DIR / "staticfiles"))) if PRODUCTION else None
)
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploads: cases.kernel.uploads cuts off a body past the 20 MiB document limit as it is read, before
# Django's handlers write it to a temporary file; bodies of ordinary forms stay small.
FILE_UPLOAD_HANDLERS = [
    "cases.kernel.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Behind the load balancer, TLS ends at the proxy, which tells us with this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Webhooks are sent only to public addresses over https; the tests' receiver listens on
# loopback over http, which this allows (never in production).
WEBHOOKS_ALLOW_LOOPBACK = not PRODUCTION and env_bool("WEBHOOKS_ALLOW_LOOPBACK", default=False)
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "10"))
