"""Settings for tom_desc.

Everything that differs between a laptop, CI and production is read from the
environment (see tom_desc/env.py and docs/configuration.md); nothing secret
lives in this file. Missing required configuration stops the process with a
message that names the variable.
"""

import os
import tempfile
from pathlib import Path

from tom_common.default_settings import *
from tom_common.default_settings import TOMTOOLKIT_AUTHENTICATION_BACKENDS, TOMTOOLKIT_INSTALLED_APPS

from tom_desc.env import database_config, env_bool, env_choice, env_int, env_list, env_secret, env_str
from tom_desc.lib.cache import SHARED_CACHE_TABLE

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Browsers that saw the site over TLS refuse plain HTTP to it for this long (HSTS).
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
# Proxies in front of gunicorn that append to X-Forwarded-For: the login lockout counts
# failures per client address, which it then reads from that header (allauth).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0)
# Every page loads only this site's files (docs/pages.md): scripts only from /static/, no
# inline script, no eval; nothing is framed or framing. Styles allow inline attributes
# (Bootstrap and plotly set them). tom_desc/middleware.py sends it on every response.
_CSP_REST = (
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CONTENT_SECURITY_POLICY = env_str("CONTENT_SECURITY_POLICY", f"default-src 'self'; script-src 'self'; {_CSP_REST}")
# The TOM Toolkit's own target, data-product, observation and user-management pages carry
# inline scripts and onclick handlers, and their htmx filters evaluate expressions; under these
# paths inline scripts and eval may run (still nothing from another host). The site's pages
# (ELAsTiCC, brokers, API docs, login, tokens, profile) are strict.
CONTENT_SECURITY_POLICY_TOOLKIT_PAGES = env_str(
    "CONTENT_SECURITY_POLICY_TOOLKIT_PAGES",
    f"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; {_CSP_REST}",
)
CSP_TOOLKIT_PATHS = ["/targets/", "/dataproducts/", "/observations/", "/users/", "/groups/", "/calendar/"]

TOM_NAME = "DESC TOM"

INSTALLED_APPS = [
    *TOMTOOLKIT_INSTALLED_APPS,
    "django.contrib.humanize",
    "psqlextra",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc files served locally, no CDN
    "elasticc",  # the ELAsTiCC tables, REST API, pages, alert stream and loaders
    "elasticc2",  # the ELAsTiCC2 campaign: its tables, 4-digit taxonomy and REST reads
    "followup",  # ELAsTiCC2 follow-up: light curves, hot transients, the spectrum cycle, Targets
    "brokermetrics",  # broker completeness, delays and confusion matrices, and their pages
    "sqlquery",  # SQL for analysts (/db/), read-only roles, long queries
    "apitokens",  # one's REST API token on the profile page, manage.py api_token
    "ops",  # /healthz and /readyz, users export/import, ensure_admin
]
SITE_ID = 1

# The TOM Toolkit's middleware, with four changes (tom_desc/middleware.py): a
# Content-Security-Policy on every response; whitenoise serves /static/ from gunicorn itself
# (right after SecurityMiddleware); API errors are JSON whatever raised them; the toolkit's
# LOCKED-site and 403-to-login middleware step aside for API requests, which answer JSON
# 401/403/404 themselves.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tom_desc.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tom_desc.middleware.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tom_common.middleware.HTMXRedirectMiddleware",
    "tom_desc.middleware.Raise403ExceptApiMiddleware",
    "tom_common.middleware.ExternalServiceMiddleware",
    "tom_desc.middleware.LockedSiteMiddleware",
    "tom_common.middleware.AccountRequirementsMiddleware",
]

ROOT_URLCONF = "tom_desc.urls"
WSGI_APPLICATION = "tom_desc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
CRISPY_TEMPLATE_PACK = "bootstrap5"

DATABASES = {"default": database_config()}
# psqlextra would otherwise run CREATE EXTENSION hstore on every new connection.
POSTGRES_EXTRA_AUTO_EXTENSION_SET_UP = env_bool("POSTGRES_EXTRA_AUTO_EXTENSION_SET_UP", False)
# The TOM Toolkit apps ship migrations made with AutoField; elasticc sets its own in apps.py.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's wording for a wrong password (the original's clients look for it) and the lockout;
# the placeholder user of django-guardian inactive and without a password (tom_desc/accounts.py).
ACCOUNT_ADAPTER = "tom_desc.accounts.SiteAccountAdapter"
GUARDIAN_GET_INIT_ANONYMOUS_USER = "tom_desc.accounts.init_anonymous_user"
AUTHENTICATION_BACKENDS = [
    *TOMTOOLKIT_AUTHENTICATION_BACKENDS,
    # Lets scripts and tests authenticate with username/password directly.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
# The TOM Toolkit warns (tom_common.W003) when /accounts/login/ is not allauth's own view, lest a
# plain Django login skip two-factor authentication. Ours is allauth's view with the original's
# wording and a 429 on top (tom_desc/accounts.py), so the code challenge stays: see
# tests/test_login.py::test_the_login_page_asks_two_factor_accounts_for_their_code.
SILENCED_SYSTEM_CHECKS = ["tom_common.W003"]
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["tom_base.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "_static")))
# Browser assets come from npm packages (package.json, `npm ci` in `make install`), served by
# whitenoise under /static/vendor/...; tom_desc/templates/tom_common/base.html loads only these.
NODE_MODULES_DIR = Path(env_str("NODE_MODULES_DIR", str(REPO_DIR / "node_modules")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES_DIR / "bootstrap" / "dist"),
    ("vendor/alpinejs", NODE_MODULES_DIR / "alpinejs" / "dist"),
    ("vendor/plotly", NODE_MODULES_DIR / "plotly.js-dist-min"),
    ("vendor/js-base64", NODE_MODULES_DIR / "js-base64"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without a collectstatic run (tests, `manage.py runserver`) whitenoise finds files in the apps.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "data")))
MEDIA_URL = "/data/"

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "timestamped": {"format": "[{asctime}] {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "timestamped"},
    },
    "loggers": {
        "": {"handlers": ["console"], "level": LOG_LEVEL},
        "django.db.backends": {"level": "INFO"},
    },
}

# The cache holds the login lockout counters (django-allauth's rate limits, docs/deploy.md).
# CACHE_BACKEND=file: a directory (CACHE_DIR) that only one host's web workers share, enough for
# one web server; =database: the table ops' migration makes, which every web pod shares, so that
# three pods lock a password guesser out after the same five failures as one pod does.
CACHE_BACKEND = env_choice("CACHE_BACKEND", ("file", "database"), "file")
# Django culls a third of a full cache at random, and its default of 300 entries lets anyone who
# fails 300 logins under other names wipe a victim's counters: keep room for an attack's worth.
CACHE_MAX_ENTRIES = env_int("CACHE_MAX_ENTRIES", 100_000)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": env_str("CACHE_DIR", os.path.join(tempfile.gettempdir(), "tom_desc_cache")),
        "OPTIONS": {"MAX_ENTRIES": CACHE_MAX_ENTRIES},
    }
    if CACHE_BACKEND == "file"
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": SHARED_CACHE_TABLE,
        "OPTIONS": {"MAX_ENTRIES": CACHE_MAX_ENTRIES},
    }
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# TOM Toolkit settings this site does not use, kept minimal.
TARGET_TYPE = "SIDEREAL"
MATCH_MANAGERS = {}
FACILITIES = {}
TOM_FACILITY_CLASSES = []
# Photometry is the one data product type: "make a Target" (followup/targets.py) writes an
# ELAsTiCC2 object's forced photometry as the Toolkit's photometry data, which the Target page
# plots; the processor reads photometry files uploaded on that page the same way.
DATA_PRODUCT_TYPES = {"photometry": ("photometry", "Photometry")}
DATA_PROCESSORS = {"photometry": "tom_dataproducts.processors.photometry_processor.PhotometryProcessor"}
EXTRA_FIELDS = []
GENERAL_SEARCH_FUNCTIONS = {}
SELECTION_EXTRA_FIELDS = []
AUTH_STRATEGY = "LOCKED"
# Open to anonymous requests under AUTH_STRATEGY LOCKED: the probes, /metrics (which checks
# the port or the login itself, ops/views.py), and /db/, whose views authenticate (session or
# token) and answer JSON 401 themselves.
OPEN_URLS = ["/healthz", "/readyz", "/metrics", "/db/*"]
TARGET_PERMISSIONS_ONLY = True
TARGET_DEFAULT_PERMISSION = "PRIVATE"
TARGET_LIST_COLUMNS = ["name", "type"]
HOOKS = {}
AUTO_THUMBNAILS = False
THUMBNAIL_MAX_SIZE = (0, 0)
THUMBNAIL_DEFAULT_SIZE = (200, 200)
HINTS_ENABLED = False
HINT_LEVEL = 20
PLOTLY_THEME = "plotly_white"
SHOW_PAGINATION_INFO = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tom_common.accounts.api_auth.TomTokenAuthentication",
        # HTTP Basic, with the login page's lockout and two-factor rule (apitokens/basic_auth.py).
        "apitokens.basic_auth.ThrottledBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 for deep nesting or lone surrogates.
    "DEFAULT_PARSER_CLASSES": [
        "tom_desc.lib.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # JSON only; the browsable HTML API only with DEBUG (or BROWSABLE_API) on.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if env_bool("BROWSABLE_API", DEBUG) else []),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON errors of one shape, anonymous requests answered 401 (docs/api.md).
    "EXCEPTION_HANDLER": "tom_desc.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DESC TOM API",
    "DESCRIPTION": "ELAsTiCC objects, sources, alerts, truth and broker classifications.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["elasticc.api.schema.only_elasticc_routes"],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Scripts written for the original site post `username` to /accounts/login/ (tom_desc/accounts.py).
ACCOUNT_FORMS = {"login": "tom_desc.accounts.LoginFormAcceptingUsername"}

# ---- Operator metrics (ops/metrics.py, docs/deploy.md) --------------------------------------
# /metrics answers connections that arrive on this port (a second gunicorn listener that only
# Prometheus can reach); 0: none, then only logged-in superusers see it.
METRICS_PORT = env_int("METRICS_PORT", 0)

# ---- ELAsTiCC ---------------------------------------------------------------------------
# Kafka: the embedded tansu broker in development, a real cluster in production.
KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
ELASTICC_ALERT_TOPIC = env_str("ELASTICC_ALERT_TOPIC", "elasticc-alerts")
ELASTICC_FAKEBROKER_TOPIC = env_str("ELASTICC_FAKEBROKER_TOPIC", "elasticc-fakebroker")
# ELAsTiCC2 (docs/alerts.md): WFD alerts on one topic, DDF alerts on two (full and 30-day
# history) as in the original; the fake broker answers both campaigns on their own topics.
ELASTICC2_ALERT_TOPIC = env_str("ELASTICC2_ALERT_TOPIC", "elasticc2-alerts-wfd")
ELASTICC2_DDF_FULL_TOPIC = env_str("ELASTICC2_DDF_FULL_TOPIC", "elasticc2-alerts-ddf-full")
ELASTICC2_DDF_LIMITED_TOPIC = env_str("ELASTICC2_DDF_LIMITED_TOPIC", "elasticc2-alerts-ddf-limited")
ELASTICC2_FAKEBROKER_TOPIC = env_str("ELASTICC2_FAKEBROKER_TOPIC", "elasticc2-fakebroker")
# Hash partitions for the per-object tables; changing it needs a new migration.
ELASTICC_HASH_PARTITIONS = 16
# The summary page counts a table exactly when its heap is at most this big, otherwise it
# shows the planner's statistics (see tom_desc/lib/rowcounts.py).
SUMMARY_EXACT_COUNT_MAX_BYTES = env_int("SUMMARY_EXACT_COUNT_MAX_BYTES", 64 * 1024 * 1024)

# ---- brokerpoll (elasticc/management/commands/brokerpoll.py, docs/brokerpoll.md) ---------
# A YAML/JSON file listing the brokers to poll; empty: --kafka-server/--topic or the defaults.
ELASTICC_BROKERPOLL_CONFIG = env_str("ELASTICC_BROKERPOLL_CONFIG", "")
# Caps on classifiers the ingest registers by itself (REST and Kafka; elasticc/stream/admission.py).
ELASTICC_MAX_NEW_CLASSIFIERS_PER_BATCH = env_int("ELASTICC_MAX_NEW_CLASSIFIERS_PER_BATCH", 50)
ELASTICC_MAX_CLASSIFIERS_PER_BROKER = env_int("ELASTICC_MAX_CLASSIFIERS_PER_BROKER", 100)
# The brokerpoll heartbeat is "stale" on the summary page after this many seconds.
BROKERPOLL_STALE_AFTER = env_int("BROKERPOLL_STALE_AFTER", 300)

# ---- REST API (docs/api.md) ------------------------------------------------------------
# A list's `count` is exact when the planner expects at most this many rows (and the count
# finishes within the timeout); otherwise it is the planner's estimate (count_is_estimate).
ELASTICC_API_EXACT_COUNT_LIMIT = env_int("ELASTICC_API_EXACT_COUNT_LIMIT", 100_000)
ELASTICC_API_COUNT_TIMEOUT_MS = env_int("ELASTICC_API_COUNT_TIMEOUT_MS", 300)

# ---- Pages for astronomers and broker metrics (docs/pages.md) -----------------------------
BOOTSTRAP5 = {
    "css_url": {"url": STATIC_URL + "vendor/bootstrap/css/bootstrap.min.css"},
    "javascript_url": {"url": STATIC_URL + "vendor/bootstrap/js/bootstrap.bundle.min.js"},
}
# Confusion matrices are made from the simulation truth: shown only to elasticc_admin unless
# this is set (e.g. once a campaign's truth is public).
BROKERMETRICS_CONFUSION_PUBLIC = env_bool("BROKERMETRICS_CONFUSION_PUBLIC", False)

# ---- SQL queries (sqlquery app, docs/sqlquery.md) -------------------------------------------
# Passwords of the PostgreSQL login roles elasticc_ro / elasticc_admin_ro (empty: none, as
# with the embedded trust-auth server). Set them in PostgreSQL with
# `manage.py grant_readonly --set-passwords`.
SQLQUERY_RO_PASSWORD = env_secret("DB_RO_PASS", required=False) or ""
SQLQUERY_ADMIN_RO_PASSWORD = env_secret("DB_ADMIN_RO_PASS", required=False) or ""
SQLQUERY_STATEMENT_TIMEOUT = env_int("SQLQUERY_STATEMENT_TIMEOUT", 300)  # s, /db/runsqlquery/
SQLQUERY_ROW_LIMIT = env_int("SQLQUERY_ROW_LIMIT", 100_000)  # rows, /db/runsqlquery/
SQLQUERY_LONG_STATEMENT_TIMEOUT = env_int("SQLQUERY_LONG_STATEMENT_TIMEOUT", 4 * 3600)  # s, long queries
SQLQUERY_RESULTS_DIR = Path(env_str("SQLQUERY_RESULTS_DIR", str(REPO_DIR / "var" / "sqlquery-results")))
SQLQUERY_RUNNER_HEARTBEAT = env_int("SQLQUERY_RUNNER_HEARTBEAT", 10)  # s between a runner's heartbeats
SQLQUERY_RUNNER_STALE_AFTER = env_int("SQLQUERY_RUNNER_STALE_AFTER", 60)  # s without one: runner is dead
SQLQUERY_MAX_ATTEMPTS = env_int("SQLQUERY_MAX_ATTEMPTS", 3)  # claims of one query before it is failed
# Disk, memory and worker limits (docs/sqlquery.md, "Limits"). Sizes in MB (MiB).
SQLQUERY_RESULT_MB = env_int("SQLQUERY_RESULT_MB", 128)  # JSON of one /db/runsqlquery/ answer
SQLQUERY_LONG_RESULT_MB = env_int("SQLQUERY_LONG_RESULT_MB", 10_240)  # one long query's result file
SQLQUERY_PANDAS_MB = env_int("SQLQUERY_PANDAS_MB", 256)  # a pandas result, in the runner's memory
SQLQUERY_TEMP_FILE_MB = env_int("SQLQUERY_TEMP_FILE_MB", 1024)  # temp_file_limit of the read-only roles
SQLQUERY_TEMP_TABLE_MB = env_int("SQLQUERY_TEMP_TABLE_MB", 1024)  # temporary tables of one call
# SQL requests of one user at once: below the per-server slots, so one user never holds them all
SQLQUERY_USER_CONCURRENCY = env_int("SQLQUERY_USER_CONCURRENCY", 1)
SQLQUERY_SYNC_CONCURRENCY = env_int("SQLQUERY_SYNC_CONCURRENCY", 2)  # per web server; below its workers
SQLQUERY_SLOT_WAIT_MS = env_int("SQLQUERY_SLOT_WAIT_MS", 500)  # wait for a server slot before 429 (sqlquery/slots.py)
SQLQUERY_RUNNER_CONCURRENCY = env_int("SQLQUERY_RUNNER_CONCURRENCY", 2)  # long queries one runner runs at once
SQLQUERY_LONG_RUNNING_PER_USER = env_int("SQLQUERY_LONG_RUNNING_PER_USER", 1)  # long queries of a user at once
SQLQUERY_LONG_QUEUE_PER_USER = env_int("SQLQUERY_LONG_QUEUE_PER_USER", 20)  # queued + running per user
