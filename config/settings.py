"""Settings for Abnormal Device Tracking, read from the environment in this one place.

With no variables set the product runs embedded (SQLite, in-memory channel layer, static files
served by the app). DEBUG is off unless DEBUG=1 is set: Django's technical error pages are for
a developer who asks for them, never what the demo shows. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis; DJANGO_ENV=production refuses to start without SECRET_KEY (long, not the
example's), ALLOWED_HOSTS and SITE_BASE_URL.
"""

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

EMBEDDED, PRODUCTION = "embedded", "production"
DJANGO_ENV = env.str("DJANGO_ENV", default=EMBEDDED)
if DJANGO_ENV not in (EMBEDDED, PRODUCTION):
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be '{EMBEDDED}' or '{PRODUCTION}', not '{DJANGO_ENV}'."
    )
IS_PRODUCTION = DJANGO_ENV == PRODUCTION


def _required(name: str, hint: str) -> None:
    if not env.str(name, default=""):
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production: {hint}")


def _example_value(name: str) -> str:
    """The value `.env.example` gives `name`: a placeholder to replace, never a real setting."""
    example = BASE_DIR / ".env.example"
    if not example.is_file():
        return ""
    for line in example.read_text(encoding="utf-8").splitlines():
        key, equals, value = line.partition("=")
        if equals and key.strip() == name:
            return value.strip().strip("\"'")
    return ""


MIN_SECRET_KEY_LENGTH = 50
NEW_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def _check_secret_key(key: str) -> None:
    if key == _example_value("SECRET_KEY"):
        raise ImproperlyConfigured(
            "SECRET_KEY is the placeholder of .env.example, which must not be used when "
            f"DJANGO_ENV=production: set a random one, e.g. the output of {NEW_SECRET_KEY}"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters long when "
            f"DJANGO_ENV=production (it has {len(key)}): set a random one, e.g. the output of "
            f"{NEW_SECRET_KEY}"
        )


DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))

if IS_PRODUCTION:
    _required("SECRET_KEY", "a long random string, kept secret and stable across restarts.")
    _check_secret_key(env.str("SECRET_KEY"))
    _required("ALLOWED_HOSTS", "the host names the site is served under, comma-separated.")
    _required(
        "SITE_BASE_URL",
        "the address people open the site at, e.g. https://adt.example.com (links in e-mails).",
    )


def _development_secret() -> str:
    """A secret generated once per checkout so sessions survive restarts in embedded mode,
    readable by its owner only."""
    path = DATA_DIR / "dev-secret-key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    else:
        with os.fdopen(descriptor, "w") as secret_file:
            secret_file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Unfold without its default app config, which would put a site of its own in place of the
    # product's (config.admin_site.Site, the default site of the admin below).
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "config.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "simple_history",
    "import_export",
    # The API's reference (/api/v1/docs/) from its own static files, never a CDN.
    "ninja",
    "incidents",
    "locations",
    "messaging",
    # The site's operations commands. Before django_tasks, so that its `db_worker` (which first
    # fails the jobs whose worker died) is the one `manage.py db_worker` runs.
    "config",
    "django_tasks",
    "django_tasks_db",
    # Development data (seed_demo, demo_logins, seed_scale). Last, so that its commands never
    # shadow another app's.
    "fixtures",
]

MIDDLEWARE = [
    # Names each request (X-Request-ID) and logs it once answered: first, to time all of it.
    "config.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The language a person chose wins over the cookie and the browser's.
    "config.kit.language.PersonLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A NUL in a query or a form is a 400 saying so, before anything reads it
    # (config/kit/inputs.py).
    "config.kit.inputs.NulRefusingMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # A query stopped at the statement timeout, or a write that found the embedded database
    # locked too long, is a page that says so (503).
    "config.errors.StatementTimeoutMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
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
                "django.template.context_processors.i18n",
            ],
            # Lean rows of long lists (config/kit/lists.py); the page header's trail as a model
            # admin words it (config/kit/headers.py).
            "libraries": {"admin_lists": "config.kit.lists", "admin_headers": "config.kit.headers"},
        },
    },
]

# --- Data -------------------------------------------------------------------------------------
SILENCED_SYSTEM_CHECKS: list[str] = []
# How long one SQL statement of a web request may run (PostgreSQL), in milliseconds.
WEB_STATEMENT_TIMEOUT_MS = env.int("WEB_STATEMENT_TIMEOUT_MS", default=30_000)
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let the embedded single process serve HTTP and WebSocket
    # requests concurrently without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # What only PostgreSQL's indexes have (covering columns, NULLS NOT DISTINCT): the embedded
    # database does without, as the models say.
    SILENCED_SYSTEM_CHECKS += ["models.W040", "models.W047"]
else:
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # Each process names its sessions: pg_stat_activity tells app servers and workers apart.
    options["application_name"] = f"adt-{os.getpid()}"
    # No just-in-time compilation: a page's queries run in milliseconds, and compiling one that
    # the planner guesses to be large costs more than running it (the device list sorted by
    # open stage: 430 ms with it, 160 without, at 100,000 incidents).
    options["options"] = "-c jit=off"
    # Words are "close" (pg_trgm's % operator) from the trigram similarity "Seen before" keeps
    # (incidents.selectors.similar.MIN_TEXT_SIMILARITY): the nearest-first read of the findings
    # then stops where nothing can be that close, instead of reading on to pg_trgm's 0.3 for
    # rows the panel drops (7 ms instead of 0.2 at 100,000 incidents).
    options["options"] += " -c pg_trgm.similarity_threshold=0.4"
    if env.bool("ADT_WEB_PROCESS", default=False):
        # A web request never holds a process and the database for minutes: its statements are
        # stopped after this (config.errors says so to the person). Workers and commands (the
        # legacy import, seeding, migrations) run without it.
        options["options"] += f" -c statement_timeout={WEB_STATEMENT_TIMEOUT_MS}"
    if env.bool("DATABASE_POOL", default=True):
        # A pool of connections per process instead of a new one per request or per WebSocket
        # call (Django's pool, made for ASGI): otherwise most of a chat message's cost.
        options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Instances sharing one Redis (the test suite's parallel workers) each keep their cache keys
# and chat groups under a prefix of their own.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="")
if REDIS_URL:
    # redis 8 times idle reads out after 5 s by default, which would drop every quiet WebSocket.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
    if REDIS_KEY_PREFIX:
        CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{REDIS_KEY_PREFIX}:asgi"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Shared between the app processes and the worker (progress and heartbeat of background
# imports): Redis in production, files under DATA_DIR in embedded mode.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": DATA_DIR / "cache",
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }

# Background work (legacy imports) is queued in the database and run by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Chat ---------------------------------------------------------------------------------------
CHAT_MESSAGE_MAX_CHARS = env.int("CHAT_MESSAGE_MAX_CHARS", default=4000)
# A WebSocket frame larger than this is refused with an error frame, never parsed.
CHAT_FRAME_MAX_BYTES = env.int("CHAT_FRAME_MAX_BYTES", default=64 * 1024)
# Authors may edit or delete a message for this long after sending it (the trace stays).
CHAT_EDIT_WINDOW_SECONDS = env.int("CHAT_EDIT_WINDOW_SECONDS", default=15 * 60)
# Each person may send CHAT_BURST messages at once, then CHAT_RATE_PER_SECOND a second, over
# their sockets and HTTP together (messaging.limits).
CHAT_BURST = env.int("CHAT_BURST", default=10)
CHAT_RATE_PER_SECOND = env.float("CHAT_RATE_PER_SECOND", default=1.0)
# A message @mentions at most this many people, and a person at most this many a minute.
CHAT_MENTIONS_PER_MESSAGE = env.int("CHAT_MENTIONS_PER_MESSAGE", default=10)
CHAT_MENTIONS_PER_MINUTE = env.int("CHAT_MENTIONS_PER_MINUTE", default=30)

# --- People -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "incidents.Employee"
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One way of writing dates and times per language (config/formats).
FORMAT_MODULE_PATH = "config.formats"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------------------------
STATIC_URL = "static/"
# Where collectstatic puts the files nginx serves in production.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Embedded mode serves static files straight from the apps, no collectstatic step needed, and
# picks up an edited file without a restart, DEBUG on or off.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = not IS_PRODUCTION
# Source maps (5 MB of the API pages' scripts) are read only by a browser's developer tools: they
# are served as they are, not compressed at every deployment (half of collectstatic's time).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]

# --- Operations (config/status.py, config/backup.py) ---------------------------------------------
# Where `manage.py backup` writes (the status page reports the newest one there).
BACKUP_DIR = env.str("BACKUP_DIR", default="")
# Below this much free space on the disk of uploaded files, the status says something is wrong.
MEDIA_DISK_MIN_FREE_BYTES = env.int("MEDIA_DISK_MIN_FREE_BYTES", default=1024**3)
# /metrics answers a request carrying "Authorization: Bearer <METRICS_TOKEN>"; unset, it is off.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Each app process and worker announces itself every PROCESS_BEAT_SECONDS; one silent for
# PROCESS_TTL_SECONDS is dead (config/kit/processes.py): the status counts it no more and the
# chat shows the people connected through it offline at once.
try:
    PROCESS_BEAT_SECONDS = env.float("PROCESS_BEAT_SECONDS", default=15)
    PROCESS_TTL_SECONDS = env.float("PROCESS_TTL_SECONDS", default=45)
except ValueError:
    PROCESS_BEAT_SECONDS = PROCESS_TTL_SECONDS = 0
if not 0 < PROCESS_BEAT_SECONDS < PROCESS_TTL_SECONDS < 10**6:
    raise ImproperlyConfigured(
        "PROCESS_BEAT_SECONDS and PROCESS_TTL_SECONDS must be numbers of seconds, the second "
        "longer than the first (e.g. 15 and 45)."
    )

# --- E-mail -----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="adt@localhost")
# The daily digest (manage.py send_digest) lists incidents in their stage longer than this.
DIGEST_OVERDUE_DAYS = env.int("DIGEST_OVERDUE_DAYS", default=3)
# The background worker looks for incidents past their stage's deadline this often (seconds).
DEADLINES_CHECK_SECONDS = env.int("DEADLINES_CHECK_SECONDS", default=60)
if not 1 <= DEADLINES_CHECK_SECONDS <= 24 * 3600:
    raise ImproperlyConfigured("DEADLINES_CHECK_SECONDS must be between 1 and 86400 seconds.")

# --- Every page -------------------------------------------------------------------------------
# Each person's queue sizes and unread counts (the sidebar, the bell) are kept between their pages
# while the database has not changed (config.kit.kept); off counts them on every page.
KEPT_FIGURES = env.bool("KEPT_FIGURES", default=True)

# --- Dashboard --------------------------------------------------------------------------------
# The dashboard's figures are kept this many seconds for everyone who sees the same projects
# with the same filters, and counted again as soon as any incident, device, place, problem group
# or setting changes (incidents.dashboard.kept); 0 counts them on every view.
DASHBOARD_FIGURES_SECONDS = env.int("DASHBOARD_FIGURES_SECONDS", default=120)
# A test station and fail item are flagged as failing good devices when at least this share of
# their incidents that ended in the period were returned with no fault found, over at least this
# many incidents (incidents.dashboard.stations).
NFF_STATION_SHARE = env.float("NFF_STATION_SHARE", default=0.30)
NFF_STATION_MIN_INCIDENTS = env.int("NFF_STATION_MIN_INCIDENTS", default=10)
if not 0 < NFF_STATION_SHARE <= 1:
    raise ImproperlyConfigured("NFF_STATION_SHARE must be a share above 0 and at most 1 (0.30).")
if NFF_STATION_MIN_INCIDENTS < 1:
    raise ImproperlyConfigured("NFF_STATION_MIN_INCIDENTS must be at least 1.")


# --- Security behind nginx --------------------------------------------------------------------
def _proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """("HTTP_X_FORWARDED_PROTO", "https") for the header name "X-Forwarded-Proto"."""
    name = name.strip().upper().replace("-", "_")
    if not name:
        return None
    return (name if name.startswith("HTTP_") else f"HTTP_{name}", "https")


# The header a TLS-terminating proxy sets to "https". Trusted only when named: a proxy that does
# not always set or strip it would let clients claim HTTPS.
if proxy_ssl_header := _proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", default="")):
    SECURE_PROXY_SSL_HEADER = proxy_ssl_header
# HSTS is sent on HTTPS responses only; start small and raise it once HTTPS is known to work.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    # Plain HTTP is redirected to HTTPS (behind a proxy: with SECURE_PROXY_SSL_HEADER set),
    # except the probes a proxy or an orchestrator sends on its private network.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    # Subdomains of the factory's domain and browsers' preload lists are the domain owner's
    # decision (SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD), not this product's.
    SILENCED_SYSTEM_CHECKS += ["security.W005", "security.W021"]

# Text lines while developing; a JSON object per line in production (LOG_FORMAT=json), each
# with the id of the request it belongs to (config/requestlog.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.requestlog.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "config.requestlog.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The request log says it once (adt.request); Django's own lines would repeat it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
    },
}

# --- The admin is the product -----------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": _("Abnormal Device Tracking"),
    "SITE_HEADER": _("Abnormal Device Tracking"),
    "SITE_SUBHEADER": _("Failure analysis across departments"),
    "SITE_SYMBOL": "developer_board",
    "SITE_FAVICONS": [
        {"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("favicon.svg")},
        {"rel": "icon", "sizes": "32x32", "href": lambda request: static("favicon-32.png")},
        {"rel": "apple-touch-icon", "href": lambda request: static("apple-touch-icon.png")},
    ],
    # The admin is the whole site: no "return to site" link that would lead back here.
    "SITE_URL": None,
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "ENVIRONMENT": "config.unfold.environment_callback",
    "DASHBOARD_CALLBACK": "config.unfold.dashboard_callback",
    "STYLES": [lambda request: static("css/adt.css")],
    # Ctrl+K: Enter opens the first result (static/js/command_search.js).
    "SCRIPTS": [lambda request: static("js/command_search.js")],
    # A calm steel blue: red, amber and green are words of this domain (failure and scrap,
    # waiting, done), so the theme uses none of them.
    "COLORS": {
        "primary": {
            "50": "oklch(97.5% .012 250)",
            "100": "oklch(94.5% .025 250)",
            "200": "oklch(89% .05 250)",
            "300": "oklch(81% .085 250)",
            "400": "oklch(70% .12 252)",
            "500": "oklch(60% .145 254)",
            "600": "oklch(52% .15 256)",
            "700": "oklch(45.5% .135 257)",
            "800": "oklch(39.5% .11 258)",
            "900": "oklch(34% .085 259)",
            "950": "oklch(25% .06 260)",
        },
    },
    # "Where is device X": Ctrl+K on any page searches devices, people and locations.
    "COMMAND": {
        "search_models": ["incidents.employee", "locations.location"],
        "search_callback": "config.unfold.where_is_search",
    },
    "SIDEBAR": {
        "show_search": True,
        "command_search": True,
        "show_all_applications": False,
        "navigation": "config.unfold.sidebar_navigation",
    },
    "LOGIN": {"redirect_after": reverse_lazy("admin:index")},
}

# The changelists' import/export buttons: importing needs the add permission, exporting the view.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# History is a trail, not an undo button: reverting would bypass the workflow.
SIMPLE_HISTORY_REVERT_DISABLED = True
SITE_BASE_URL = env.str("SITE_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024)
# A picture with more pixels than this is refused on upload, before any of it is decoded
# (a 12,000 x 12,000 PNG of 445 KB decodes to 430 MB).
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
# A file larger than any upload the product accepts is dropped while it streams in, before
# Django's handlers write it to memory or a temporary file.
FILE_UPLOAD_HANDLERS = [
    "config.kit.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Workbooks of the lists' Import buttons: the largest upload, and the most its parts may unpack
# to (zip bombs); config/kit/spreadsheets.py.
SPREADSHEET_MAX_BYTES = env.int("SPREADSHEET_MAX_BYTES", default=10 * 1024 * 1024)
SPREADSHEET_MAX_UNPACKED_BYTES = env.int(
    "SPREADSHEET_MAX_UNPACKED_BYTES", default=100 * 1024 * 1024
)
# Legacy workbooks: the largest upload, and the most its parts may unpack to (zip bombs).
LEGACY_IMPORT_MAX_BYTES = env.int("LEGACY_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
LEGACY_IMPORT_MAX_UNPACKED_BYTES = env.int(
    "LEGACY_IMPORT_MAX_UNPACKED_BYTES", default=500 * 1024 * 1024
)
# The worker running an import beats every few seconds; an import without a beat for this long
# has lost its worker and is marked failed, to be started again.
LEGACY_IMPORT_HEARTBEAT_SECONDS = env.float("LEGACY_IMPORT_HEARTBEAT_SECONDS", default=5)
LEGACY_IMPORT_STALLED_AFTER_SECONDS = env.float("LEGACY_IMPORT_STALLED_AFTER_SECONDS", default=60)
# Reports and exports made in the background (incidents.services.report_jobs): a list export of
# more rows than this is a job; a report's file is kept this many days; the worker beats every
# few seconds, and a job silent for longer has lost its worker; reports render at this niceness.
EXPORT_IMMEDIATE_MAX_ROWS = env.int("EXPORT_IMMEDIATE_MAX_ROWS", default=2000)
REPORT_JOB_RETENTION_DAYS = env.int("REPORT_JOB_RETENTION_DAYS", default=7)
REPORT_JOB_HEARTBEAT_SECONDS = env.float("REPORT_JOB_HEARTBEAT_SECONDS", default=5)
REPORT_JOB_STALLED_AFTER_SECONDS = env.float("REPORT_JOB_STALLED_AFTER_SECONDS", default=60)
REPORT_JOB_NICENESS = env.int("REPORT_JOB_NICENESS", default=10)
# Where the REST API is mounted (config/urls.py): refusals made before it is reached (a NUL in
# the address) answer there in its own error shape.
API_URL_PREFIX = "/api/"
# The line's API (incidents/api): requests a token may send a minute before it is answered 429;
# fails in a row of one device at one station that open an incident by themselves; whether a
# station's first result of an unknown serial number registers the device (else it is refused).
API_TOKEN_REQUESTS_PER_MINUTE = env.int("API_TOKEN_REQUESTS_PER_MINUTE", default=6000)
RESULTS_FAILS_TO_OPEN = env.int("RESULTS_FAILS_TO_OPEN", default=3)
RESULTS_REGISTER_UNKNOWN_DEVICES = env.bool("RESULTS_REGISTER_UNKNOWN_DEVICES", default=False)
# Whether a result naming a station no administrator configured registers it (else the row is
# refused on its `station`). Off by default: a station carries its own fails-to-open count, and
# a misspelt name in one station's script would otherwise become a second station whose
# failures never add up to an incident, unnoticed.
RESULTS_REGISTER_UNKNOWN_STATIONS = env.bool("RESULTS_REGISTER_UNKNOWN_STATIONS", default=False)
