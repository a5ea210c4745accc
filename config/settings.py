"""Chairside settings, read from the environment.

Every value comes from an environment variable (see `.env.example`), or from a `.env` file
beside manage.py, which never overrides a variable already set. With DEBUG=1 and nothing else
set, Chairside runs on its embedded default: a SQLite file and a file-system Celery broker
under `var/`, and emails written to `var/mail/`. Production sets DEBUG off and must then
provide SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and EMAIL_URL: a missing one stops
start-up with a sentence naming it, never a silent fall-back to the embedded default.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# First, so every value below (CHAIRSIDE_VAR_DIR included) may come from .env.
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)

VAR_DIR = Path(env.str("CHAIRSIDE_VAR_DIR", default=str(BASE_DIR / "var")))
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError:  # a read-only image; production keeps nothing there
    pass

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (for example the output of `python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'`), or set DEBUG=1 for local development."
        )
    SECRET_KEY = "chairside-local-development-only-not-for-production"  # noqa: S105


def _service_url(name: str, *, what: str, example: str, development_default: str) -> str:
    """The address of a service Chairside needs, from the environment variable `name`.

    With DEBUG=1 an unset (or empty) variable means the embedded default; in production it
    stops start-up, since a silent SQLite file, file broker or mail folder would lose data
    or reminders without anyone noticing. Callers keep the address in a lowercase name, so it
    is no setting and Django's debug page never shows a password written into it.
    """
    value = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} is not set. Set the {name} environment variable to {what} (for example "
            f"{example}), or set DEBUG=1 for local development."
        )
    return development_default


ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "bootstrap",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "django_countries",
    "clinic",
    "accounts",
    "patients",
    "scheduling",
    # The machine interface: OAuth2 client credentials (django-oauth-toolkit) and the FHIR API.
    "oauth2_provider",
    "api",
]

MIDDLEWARE = [
    # First, so load balancers and compose health checks get an answer on plain HTTP from any
    # address (no host check, no HTTPS redirect, no login); it only ever answers /health/.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every page (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: no-store on every signed-in page and on the unsubscribe pages.
    "config.middleware.PrivatePagesNotCachedMiddleware",
    # user.is_verified(): whether this session has passed the second step of signing in.
    "django_otp.middleware.OTPMiddleware",
    # The audit trail's actor, address and source (app or admin) for every change in the request.
    "audit.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Signs a session out after SESSION_IDLE_MINUTES without activity (before any view runs).
    "accounts.middleware.IdleTimeoutMiddleware",
    # Sends a signed-in user who still owes the second step (or must set it up) there first.
    "accounts.middleware.TwoStepSignInMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "config.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

_database_url = _service_url(
    "DATABASE_URL",
    what="the PostgreSQL database",
    example="postgres://chairside:password@db:5432/chairside",
    development_default=f"sqlite:///{VAR_DIR / 'chairside.sqlite3'}",
)
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail a request (and the health check) within seconds when PostgreSQL is unreachable.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# django-axes first: it refuses a locked-out username-and-address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# The languages a patient's messages and answer pages come in (Patient.language); staff pages
# stay English. Translations are in locale/<code>/LC_MESSAGES/django.po, compiled to the .mo
# beside it (README, "Languages").
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"  # stored and computed in UTC; shown in each clinic's own time zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "clinic" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The audit trail: django-auditlog. It takes the actor and the address from its middleware
# (audit.middleware), stores each change as a JSON diff of old and new values, follows
# many-to-many changes (group membership, a manager's clinics), logs record views with its
# `accessed` signal, and needs nothing of the database beyond Django's JSONField, so SQLite and
# PostgreSQL behave alike. The apps register their models in their own ready().
AUDITLOG_STORE_JSON_CHANGES = True  # numbers, booleans and empty values keep their type
# A raw save is a fixture or database restore (loaddata, a test database put back), not a change
# anyone made: logging it would also create content types mid-restore.
AUDITLOG_DISABLE_ON_RAW_SAVE = True

# The FHIR API (api/): hospital systems sign in with OAuth2 client credentials
# (`manage.py api_client create`), get a bearer token at /fhir/oauth/token/ and read (scope
# `read`) or also book (scope `book`) for the clinics their client was given. Tokens last
# API_TOKEN_SECONDS; there are no refresh tokens (a client asks again with its secret).
# Named so migrations can point at it (api.ApiClient.application), as django-oauth-toolkit asks.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read patients, appointments, slots and given doses", "book": "Book and cancel appointments"},
    "DEFAULT_SCOPES": ["read"],
    "SCOPES_BACKEND_CLASS": "api.oauth.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "api.oauth.ClientValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("API_TOKEN_SECONDS", default=3600),
    # RFC 9700 (the OAuth 2.0 security best practice), all of it: tokens stored hashed, never
    # taken from a query string, no implicit or password grants, https redirect URIs only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# Requests one API client may make per window (requests, seconds), counted in the "api" cache.
API_RATE_LIMIT = (env.int("API_RATE_LIMIT_REQUESTS", default=600), env.int("API_RATE_LIMIT_SECONDS", default=60))
# Entries a search page holds when the client asks for none (`_count`), and the most it may ask for.
API_PAGE_SIZE = 50
API_MAX_PAGE_SIZE = 500

# Email: EMAIL_URL (smtp://user:password@host:port, smtp+tls:// for STARTTLS, smtp+ssl:// for
# TLS); with DEBUG=1 and none set, emails are written as files under var/mail/ for a person
# to read.
_email_url = _service_url(
    "EMAIL_URL",
    what="the SMTP server that sends reminders",
    example="smtp://user:password@mail.example.org:25",
    development_default="",
)
if _email_url:
    _email = env.email_url_config(_email_url)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
    # Without a port in the URL: the port of the scheme, as smtplib would pick it.
    EMAIL_PORT = _email["EMAIL_PORT"] or (465 if EMAIL_USE_SSL else 25)
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
    # Only the file backend (filemail://) reads a folder from the URL.
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or str(VAR_DIR / "mail")
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# Seconds each step of an SMTP conversation may take. A hung mail server costs a send this
# long per step (the send task's own limits bound the whole), never a person at the desk.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Chairside <no-reply@chairside.invalid>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Text messages: SMS_URL names the provider. twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15550001111
# sends through Twilio's REST API (twilio+http://… for a stand-in speaking its shape on a closed
# network); file:// writes each text under var/sms/ for a person to read, the default with
# DEBUG=1. Unset in production, no texts are written or sent, whatever a patient's consent says.
# Named with SECRET so Django's debug page hides the auth token written into it.
SMS_SECRET_URL = env.str("SMS_URL", default="file://" if DEBUG else "")
SMS_ENABLED = bool(SMS_SECRET_URL)
SMS_TIMEOUT = env.int("SMS_TIMEOUT", default=10)

# Celery: Redis from REDIS_URL; with DEBUG=1 and none set, a file-system broker that needs no
# server.
_redis_url = _service_url(
    "REDIS_URL",
    what="the Redis server Celery uses as its broker",
    example="redis://redis:6379/0",
    development_default="",
)
if _redis_url:
    CELERY_BROKER_URL = _redis_url
    # Seconds before Redis hands an unacknowledged task (its worker gone) to another worker.
    # Longer than the longest task's hard time limit (the planner's 30 minutes), so a running
    # task is never delivered twice; a lost send is re-claimed by the minute scan far sooner
    # (scheduling.reminders.outbox.SENDING_TIMEOUT, 5 minutes). See README, "Reminders".
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 35 * 60}
else:
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Caches. "answers" counts how often the patients' answer links are opened (per address and
# per link): in Redis when REDIS_URL is set, so every web process counts together; in local
# memory on the embedded default, which runs one web process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "answers": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url, "KEY_PREFIX": "chairside"}
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "answers"}
    ),
    # Each API client's request count in its rate-limit window (api/ratelimit.py), shared the same way.
    "api": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url, "KEY_PREFIX": "chairside"}
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api"}
    ),
}
# The queues: CELERY_QUEUE for the minute scan, the planner and other housekeeping, and
# CELERY_QUEUE.send for the reminder sends, so a backlog of sends or a hung mail server never
# holds a scan back. A worker started without -Q consumes both; `-Q <name>` or `-Q <name>.send`
# gives each its own worker. Two installations (or test runs) on one Redis database stay apart
# by naming their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
_send_queue = f"{CELERY_TASK_DEFAULT_QUEUE}.send"
CELERY_TASK_QUEUES = (
    Queue(CELERY_TASK_DEFAULT_QUEUE, Exchange(CELERY_TASK_DEFAULT_QUEUE), routing_key=CELERY_TASK_DEFAULT_QUEUE),
    Queue(_send_queue, Exchange(_send_queue), routing_key=_send_queue),
)
CELERY_TASK_ROUTES = {"scheduling.tasks.reminder_send": {"queue": _send_queue}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=None)  # None: one per CPU
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TIMEZONE = "UTC"
# The worker and beat log through LOGGING below, in the same one-line format as the web.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "reminders-dispatch-due": {
        "task": "scheduling.tasks.reminders_dispatch_due",
        # How often beat looks for due reminders; a shorter scan only brings sending forward.
        "schedule": timedelta(seconds=env.int("REMINDERS_DISPATCH_EVERY_SECONDS", default=60)),
    },
    "reminders-plan-hourly": {
        "task": "scheduling.tasks.reminders_plan",
        "schedule": crontab(minute=5),  # hourly, so each clinic's local morning is met
    },
    "offers-advance": {
        "task": "scheduling.tasks.offers_advance",
        # Freed chair time is offered, and unanswered offers end, within a minute.
        "schedule": timedelta(seconds=env.int("OFFERS_ADVANCE_EVERY_SECONDS", default=60)),
    },
    "regimen-changes-apply-due": {
        "task": "scheduling.tasks.regimen_changes_apply_due",
        # Hourly: a change reviewed for a day takes effect in that day's first hour (settings.TIME_ZONE).
        "schedule": crontab(minute=1),
    },
}

# Security. Production (DEBUG off) gets secure cookies and HSTS; behind a TLS-terminating
# proxy set SECURE_PROXY_SSL_HEADER_ENABLED=1.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 10)  # one clinic day
# Front-desk and nurses' computers are shared: a session left alone this long is signed out
# (accounts.middleware.IdleTimeoutMiddleware), and the page warns the person this many seconds
# before, with a button to stay signed in.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_IDLE_WARNING_SECONDS = 120

# Failed logins (django-axes). 5 wrong passwords for one username from one address lock that
# username from that address for 30 minutes; every further try during the lockout starts the
# 30 minutes again. The pair, not the username alone: a stranger cannot lock a nurse out of her
# own terminal by typing her name elsewhere, and one colleague's typos at a shared front-desk
# computer never lock the others out. A clinic manager lifts a lockout on the staff page.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a correct password forgets that address's earlier typos
AXES_LOCKOUT_CALLABLE = "accounts.lockouts.lockout_response"  # the login page, with a sentence
AXES_CLIENT_IP_CALLABLE = "accounts.lockouts.client_address"
AXES_VERBOSE = False  # a lockout is logged once, by accounts.lockouts, without the username
# Behind a reverse proxy every request comes from the proxy's address: set TRUSTED_PROXY_COUNT
# to the number of proxies in front of Chairside that append to X-Forwarded-For, so the
# lockout counts each person's own address. Left at 0, X-Forwarded-For is never read (a
# visitor could write anything in it).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Two-step sign-in (django-otp): an authenticator app's code (TOTP) or a recovery code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Chairside")
# The admin never shows a secret or its QR code: whoever saw one could make that person's codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    if env.bool("SECURE_PROXY_SSL_HEADER_ENABLED", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts, styles and images from Chairside's own static
# files only, no inline script, style attribute or eval (htmx's own inline style is switched
# off in base.html), no framing, forms post only to Chairside.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Levelling a clinic day: how long CP-SAT may search (seconds) and on how many cores.
LEVELLING_TIME_LIMIT_SECONDS = env.float("LEVELLING_TIME_LIMIT_SECONDS", default=5.0)
LEVELLING_WORKERS = env.int("LEVELLING_WORKERS", default=2)

# Logs: one line per event as key=value pairs, never a query string or task payload
# (config/logging.py, shared with gunicorn's own logs).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_LEVEL)
