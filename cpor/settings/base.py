"""Settings shared by every environment, read from the environment with safe local defaults.

`test.py` and `production.py` only override what differs; nothing here branches on the
environment's name.
"""

import os
import zoneinfo
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CPOR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# A fixed key is fine for a local checkout; production.py refuses to start without its own.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-local-development-key-not-for-production")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Index expressions with an operator class (the claims' pg_trgm indexes); harmless on SQLite.
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "cpor",
    "tenants",
    "claims",
    "notifications",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
    "bulk",
    "demo",
]

MIDDLEWARE = [
    # GET /health/ for load balancers, before anything else: no session, host check or https
    # redirect (cpor/health.py says why).
    "cpor.health.HealthCheckMiddleware",
    # First, so that an oversized body is refused before anything reads it.
    "cpor.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cpor.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes documents: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cpor.urls"
WSGI_APPLICATION = "cpor.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cpor.context_processors.partner",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or a SQLite file under var/ -------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cpor.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Django's SQLite, less the PostgreSQL-only indexes its migrations would rebuild (cpor/sqlite3).
    DATABASES["default"]["ENGINE"] = "cpor.sqlite3"
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database machine that does not answer fails a request (and /health/) in seconds
    # instead of holding it until the load balancer gives up.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "cpor.User"
# django-axes watches every sign-in (the site's and the admin's) before Django checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend reading the membership with the user (cpor/backends.py).
    "cpor.backends.UserBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages: English and French from the first page on ------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# Customers' time zones come from the pinned `tzdata` package only, never from the host's
# /usr/share/zoneinfo: every machine computes the same opt-out deadlines, whatever its OS.
zoneinfo.reset_tzpath(to=())

# --- Static and uploaded files ---------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Proof of execution lives outside the web root and is only ever served by a view that
# checks access; MEDIA_URL is deliberately unset.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("CPOR_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# On several machines: an S3 (or S3-compatible) bucket instead of a shared folder. Objects are
# private and only ever read back by the server (the access-checked download view streams
# them); credentials and region come from the usual AWS_* environment variables or the
# machine's role.
S3_BUCKET = os.environ.get("CPOR_S3_BUCKET", "")
if S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "location": os.environ.get("CPOR_S3_PREFIX", ""),
            "endpoint_url": os.environ.get("CPOR_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or os.environ.get("AWS_DEFAULT_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 60,
            "file_overwrite": False,
            "client_config": _BotoConfig(connect_timeout=2, read_timeout=20, retries={"max_attempts": 3}),
        },
    }
POE_MAX_BYTES = int(os.environ.get("CPOR_POE_MAX_BYTES", str(10 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = POE_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# At most this many files in one request: a claim's proof of execution is uploaded by up to 20.
DATA_UPLOAD_MAX_NUMBER_FILES = 20

# --- Request size: refused with 413 before the body is read (cpor.middleware) ----------
# The largest legitimate request is a proof-of-execution upload: 20 files of POE_MAX_BYTES
# plus the form's other fields and the multipart framing. Every other request is a form.
REQUEST_MAX_BYTES = int(os.environ.get("CPOR_REQUEST_MAX_BYTES", str(1024 * 1024)))
UPLOAD_REQUEST_MAX_BYTES = DATA_UPLOAD_MAX_NUMBER_FILES * POE_MAX_BYTES + 1024 * 1024
UPLOAD_URL_NAMES = ("claims:draft_proof", "claims:proof_add", "api:claim_proofs")

# --- Email: SMTP at EMAIL_HOST:EMAIL_PORT, otherwise files under var/mail/ --------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
# An outbox email (customer notice, partner email) is tried this many times, with backoff,
# then shown as failed in the admin (cpor/outbox.py).
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("CPOR_OUTBOX_MAX_ATTEMPTS", "8"))
OUTBOX_BACKOFF_SECONDS = int(os.environ.get("CPOR_OUTBOX_BACKOFF_SECONDS", "60"))
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = Path(os.environ.get("CPOR_EMAIL_FILE_PATH", VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CPOR <no-reply@cpor.example>")

# --- Celery: REDIS_URL, or kombu's filesystem transport under var/ ----------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# A Redis that hangs (accepts, never answers) must not hold a request that has already
# committed its claim: every socket gives up after two seconds, and publishing a task is
# tried twice at most; the caller logs the failure and the periodic job catches up.
REDIS_SOCKET_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, **REDIS_SOCKET_TIMEOUTS}
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# --- Cache: shared by every web process through Redis when there is one ----------------
# The API's per-key rate limit counts in it, so with several gunicorn processes it must be
# shared; without Redis (a single local process) memory does.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cpor",
            "OPTIONS": REDIS_SOCKET_TIMEOUTS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each process's own memory, for what is keyed by everything it depends on and so never needs
# invalidating: base.html's navigation, per language, role, partner, user and unread count
# (cheaper to keep than to fetch from Redis).
FRAGMENTS_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "cpor-fragments",
    "TIMEOUT": 3600,
    "OPTIONS": {"MAX_ENTRIES": 1000},  # some 5 MB a process at most
}
CACHES["fragments"] = FRAGMENTS_CACHE

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it has run, so a worker killed mid-job hands it back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Celery keeps the logging configured below (LOGGING), so that worker lines name their task
# and claim like every other line (cpor/tasklog.py).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Per task, where the default above is too loose (claims and notifications set their own in
# their tasks.py): a job past its soft limit stops, its transaction rolls back, and the retry
# or the periodic job picks it up again.
CELERY_TASK_ANNOTATIONS = {
    "cpor.password_reset_email_send": {"soft_time_limit": 60, "time_limit": 90},
    "cpor.invitation_email_send": {"soft_time_limit": 60, "time_limit": 90},
    "webhooks.deliver_message": {"soft_time_limit": 60, "time_limit": 90},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The periodic jobs have their own queue, so that a long pass never delays the emails and
# validations queued by users; a worker consumes both (`-Q celery,periodic`), or a
# dedicated worker takes `-Q periodic` alone.
CELERY_TASK_ROUTES = {"cpor.run_periodic_job": {"queue": "periodic"}}
CELERY_TASK_ALWAYS_EAGER = False
PERIODIC_JOBS_INTERVAL_SECONDS = int(os.environ.get("CPOR_PERIODIC_SECONDS", "60"))
# Each app registers its periodic jobs under these names (`cpor.periodic`); beat runs each
# as its own entry, and an entry not taken before the next one is due expires instead of
# piling up. `manage.py run_periodic_jobs` runs one pass of all of them.
PERIODIC_JOBS = (
    "validated",
    "customer_emails",
    "approved",
    "ended",
    "response_reminders",
    "no_response",
    "disassociation_emails",
    "partner_notifications",
    "partner_emails",
    "webhooks",
    "bulk_uploads",
)
CELERY_BEAT_SCHEDULE = {
    f"periodic-{name}": {
        "task": "cpor.run_periodic_job",
        "args": (name,),
        "schedule": float(PERIODIC_JOBS_INTERVAL_SECONDS),
        "options": {"expires": float(PERIODIC_JOBS_INTERVAL_SECONDS)},
    }
    for name in PERIODIC_JOBS
}

# --- Sign-in throttling (django-axes) and password reset limits ------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one account, or from one address, within the
# cool-off, sign-in is refused for that account or address until the cool-off has passed
# since the last failure (the site's and the admin's sign-in alike).
AXES_ENABLED = True
AXES_FAILURE_LIMIT = int(os.environ.get("CPOR_SIGN_IN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_MINUTES = int(os.environ.get("CPOR_SIGN_IN_COOLOFF_MINUTES", "15"))
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "cpor.throttle.sign_in_username"
AXES_CLIENT_IP_CALLABLE = "cpor.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "cpor.throttle.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# The client's address. Empty: the connection's own address (REMOTE_ADDR), right when nothing
# sits in front of the application server. Behind a reverse proxy, the request header the
# proxy sets, as Django names it in request.META (e.g. HTTP_X_FORWARDED_FOR); of a
# comma-separated list, the entry CLIENT_IP_PROXY_COUNT places from the right is taken,
# since everything to its left was written by the client. Never set it without a proxy
# that overwrites or appends to that header: a client could then choose its own address.
CLIENT_IP_HEADER = os.environ.get("CPOR_CLIENT_IP_HEADER", "")
CLIENT_IP_PROXY_COUNT = int(os.environ.get("CPOR_CLIENT_IP_PROXY_COUNT", "1"))
# Password reset: at most this many requests per email address, and per client address, in
# the window; the emails go out from a worker.
PASSWORD_RESET_LIMIT_PER_EMAIL = int(os.environ.get("CPOR_PASSWORD_RESET_LIMIT_PER_EMAIL", "3"))
PASSWORD_RESET_LIMIT_PER_ADDRESS = int(os.environ.get("CPOR_PASSWORD_RESET_LIMIT_PER_ADDRESS", "20"))
PASSWORD_RESET_WINDOW_MINUTES = int(os.environ.get("CPOR_PASSWORD_RESET_WINDOW_MINUTES", "60"))

# --- Partner REST API (api/) ------------------------------------------------------------
# Only API keys authenticate (no session, so no CSRF to consider); JSON in and out, files as
# multipart; every key is rate-limited on its own.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.PartnerKey"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Requests per key, as DRF writes rates ("120/minute", "5000/hour").
API_RATE_LIMIT = os.environ.get("CPOR_API_RATE_LIMIT", "120/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "CPOR partner API",
    "DESCRIPTION": "Customer associations (claims) of your organisation: file, submit and follow them, and read "
    "the usage data of approved associations. Authenticate with an API key created by your Global admin "
    "(Authorization: Bearer cpor_...).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads Swagger UI from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ClaimStatusEnum": "claims.models.ClaimStatus.choices",
        "ItemOutcomeEnum": "claims.models.ItemOutcome.choices",
        "ActivityEnum": "claims.models.Activity.choices",
        "RejectionReasonEnum": "claims.models.RejectionReason.choices",
        "SolutionAreaEnum": "tenants.models.SolutionArea.choices",
    },
}

# --- Webhooks and bulk claims ------------------------------------------------------------
# Webhooks go to https:// addresses only; http://localhost and http://127.0.0.1 are allowed
# too when DEBUG is on or this is set (the tests' local receiver).
CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST = env_bool("CPOR_WEBHOOKS_ALLOW_HTTP_LOCALHOST", False)
BULK_MAX_ROWS = 1000
BULK_MAX_BYTES = int(os.environ.get("CPOR_BULK_MAX_BYTES", str(2 * 1024 * 1024)))

# --- Forms -----------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security defaults that hold everywhere --------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# GET /health/ (cpor/health.py): how long one machine keeps its checks' result, so that a
# load balancer polling every second costs one database query, broker ping and storage
# write every few seconds.
HEALTH_CACHE_SECONDS = float(os.environ.get("CPOR_HEALTH_CACHE_SECONDS", "5"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Each line names the Celery task and the claim it is about, where known (cpor/tasklog.py).
    "filters": {"task_context": {"()": "cpor.tasklog.TaskContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s%(context)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["task_context"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
