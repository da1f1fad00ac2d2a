"""Django settings for Flywheel, read from the environment (and .env when present).

Every setting a deployment changes is an environment variable; the defaults run the embedded mode
(SQLite file under var/, django-q2 ORM broker) that `make demo` and `make test` use.
"""

from __future__ import annotations

from pathlib import Path

import environ

from flywheel_site import env as env_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime state: SQLite file, cache, demo org, model artifacts
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

env = environ.Env()
# The environment wins over .env: read_env does not overwrite variables that are already set.
env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env_settings.secret_key(env, debug=DEBUG)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "flywheel_site.apps.SiteConfig",
    "salesforce",
    "flywheel",
    "routing",
    "ttfr",
    "templates_app",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "flywheel_site.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "flywheel_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "flywheel_site" / "templates"],
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

WSGI_APPLICATION = "flywheel_site.wsgi.application"
ASGI_APPLICATION = "flywheel_site.asgi.application"

DATABASES = {"default": env_settings.database(env, base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = env_settings.cache(env, base_dir=BASE_DIR)
Q_CLUSTER = env_settings.q_cluster(env, sync=env.bool("Q_SYNC", default=False))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "flywheel_site.staticfinders.PlotlyFinder",  # plotly.min.js from the installed package
]
WHITENOISE_USE_FINDERS = True

# Production safety: on unless DEBUG is on (check --deploy is clean with DEBUG off).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sign-in throttling (flywheel_site/throttle.py): failures per username and address, failures per
# address across usernames, cool-down. Behind a reverse proxy every REMOTE_ADDR is the proxy's:
# TRUSTED_PROXY_HOPS says how many proxies append X-Forwarded-For (0: no proxy, use REMOTE_ADDR).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

# Salesforce connection (see docs/SETUP.md; `make demo` points these at the emulator).
SF_LOGIN_URL = env.str("SF_LOGIN_URL", default="https://login.salesforce.com")
SF_CONSUMER_KEY = env.str("SF_CONSUMER_KEY", default="")
SF_USERNAME = env.str("SF_USERNAME", default="")
SF_PRIVATE_KEY_FILE = env.str("SF_PRIVATE_KEY_FILE", default="")
SF_CA_BUNDLE = env.str("SF_CA_BUNDLE", default="")
SF_API_VERSION = env.str("SF_API_VERSION", default="59.0")
SF_JWT_AUDIENCE = env.str("SF_JWT_AUDIENCE", default="")  # empty: derived from SF_LOGIN_URL
SF_INTEGRATION_USER_ID = env.str("SF_INTEGRATION_USER_ID", default="")  # empty: the login's user
SF_SESSION_TIMEOUT_SECONDS = env.int("SF_SESSION_TIMEOUT_SECONDS", default=7200)
SF_HTTP_TIMEOUT_SECONDS = env.float("SF_HTTP_TIMEOUT_SECONDS", default=30.0)
SF_RETRY_ATTEMPTS = env.int("SF_RETRY_ATTEMPTS", default=4)
SF_RETRY_BASE_SECONDS = env.float("SF_RETRY_BASE_SECONDS", default=0.5)
SF_CIRCUIT_THRESHOLD = env.int("SF_CIRCUIT_THRESHOLD", default=6)
SF_CIRCUIT_COOLDOWN_SECONDS = env.int("SF_CIRCUIT_COOLDOWN_SECONDS", default=300)

# LLM (Anthropic). No key → decisions fall back to rules or a local model, and say so.
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="")
LLM_MODEL = env.str("LLM_MODEL", default="claude-sonnet-5-5")
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=20.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=1)
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", default=1024)
LLM_DEFAULT_CONFIDENCE = env.float("LLM_DEFAULT_CONFIDENCE", default=0.8)
# {"model": {"input": USD per million tokens, "output": ...}}; empty: flywheel/conf.py's table.
LLM_PRICES = env.json("LLM_PRICES", default={})

# Flywheel: review queue and local replacement models.
FLYWHEEL_HIGH_CONFIDENCE = env.float("FLYWHEEL_HIGH_CONFIDENCE", default=0.9)
FLYWHEEL_MIN_LABELS = env.int("FLYWHEEL_MIN_LABELS", default=50)
# The hourly retrain trains a workload once this many labels arrived since its latest version.
FLYWHEEL_RETRAIN_NEW_LABELS = env.int("FLYWHEEL_RETRAIN_NEW_LABELS", default=100)
# Confidence routing: a local model's answers below this go to the LLM (when a key is set).
FLYWHEEL_LOCAL_MIN_CONFIDENCE = env.float("FLYWHEEL_LOCAL_MIN_CONFIDENCE", default=0.0)
FLYWHEEL_MODEL_DIR = env.str("FLYWHEEL_MODEL_DIR", default="")  # empty: var/models
# The admin's JSONL export: up to this many decisions zip while the browser waits; more are
# prepared by a worker into FLYWHEEL_EXPORT_DIR and kept FLYWHEEL_EXPORT_KEEP_DAYS days.
FLYWHEEL_EXPORT_INLINE_MAX = env.int("FLYWHEEL_EXPORT_INLINE_MAX", default=5000)
FLYWHEEL_EXPORT_DIR = env.str("FLYWHEEL_EXPORT_DIR", default="")  # empty: var/exports
FLYWHEEL_EXPORT_KEEP_DAYS = env.int("FLYWHEEL_EXPORT_KEEP_DAYS", default=7)

# Routing.
ROUTING_CAPACITY_WINDOW_DAYS = env.int("ROUTING_CAPACITY_WINDOW_DAYS", default=7)
ROUTING_WRITE_BATCH = env.int("ROUTING_WRITE_BATCH", default=200)
ROUTING_MAX_WRITE_ATTEMPTS = env.int("ROUTING_MAX_WRITE_ATTEMPTS", default=5)

# Template suggestion: draft Tasks for owners, and the sender of auto-sent replies.
TEMPLATES_CREATE_TASKS = env.bool("TEMPLATES_CREATE_TASKS", default=False)
TEMPLATES_SENDER_TYPE = env.str("TEMPLATES_SENDER_TYPE", default="CurrentUser")
TEMPLATES_SENDER_ADDRESS = env.str("TEMPLATES_SENDER_ADDRESS", default="")

# Time to first response service level, in minutes.
TTFR_SLA_MINUTES = env.int("TTFR_SLA_MINUTES", default=60)
TTFR_SLA_MINUTES_BY_SEGMENT = env.json("TTFR_SLA_MINUTES_BY_SEGMENT", default={})  # {"ENT": 30}
TTFR_AUTOMATED_SENDERS = env.list("TTFR_AUTOMATED_SENDERS", default=[])
TTFR_SLA_ACTIONS = env.list("TTFR_SLA_ACTIONS", default=[])  # "notify", "reassign"
# {"EMEA": {"time_zone": "Europe/Berlin", "start": "09:00", "end": "18:00", ...}}; see ttfr/README.md
TTFR_BUSINESS_HOURS = env.json("TTFR_BUSINESS_HOURS", default={})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "flywheel_site.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django_q": {"level": "WARNING"}},
}
