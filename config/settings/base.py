"""Settings shared by every environment; everything that varies comes from the env."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "config.apps.ParleyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "mozilla_django_oidc",
    "django_ratelimit",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "corsheaders",
    "django_prometheus",
    "core",
    "accounts",
    "apikeys",
    "crm",
    "assistants",
    "widget",
    "sms",
    "webhooks",
    "demo",
]

# Order matters: the security, framing and CSP middleware come first, so every
# answer below them (the JSON errors and the 413s included) carries their headers.
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestIdMiddleware",
    # Right inside the request id: sees the final answer of everything below, 4xx and 5xx included.
    "apikeys.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.NoStoreMiddleware",
    # CORS of the widget endpoints (widget/cors.py), around every answer they get: 413s and 500s too.
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.ApiJsonErrorsMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    # After the session: signed-in users are not counted. See PUBLIC_RATE_LIMIT below.
    "core.middleware.PublicRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# SPEC §10: bodies over 1 MiB answer 413 payload_too_large before any view runs, and a
# header value over 8 KiB 400 (gunicorn refuses longer header lines itself, config/gunicorn.py).
MAX_REQUEST_BODY_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

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
                "accounts.context_processors.workspace",
            ],
        },
    },
]

# --- Database: SQLite by default, PostgreSQL (psycopg 3) when DATABASE_URL is set.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # SPEC §10: an unreachable database must answer within 2 seconds: 2 s to connect, and
    # a persistent connection caught in a partition is given up by TCP after 2 s of
    # unacknowledged data (or failed keepalives) instead of hanging for minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=2,
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=1,
        keepalives_count=2,
        tcp_user_timeout=2000,
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has two processes on one file: runserver and the task worker
    # (./dev serve). WAL lets readers and a writer proceed together; IMMEDIATE takes the
    # write lock at BEGIN, so a transaction never fails upgrading a read lock; writers
    # wait up to 20 s for each other instead of answering "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE", timeout=20
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set (shared by every worker), else local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, with a per-process fallback while Redis is unreachable
            # (SPEC §10): see core/cache.py.
            "BACKEND": "core.cache.FailoverRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "parley"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                # redis-py retries 3 times with backoff by default: seconds per
                # command against a dead Redis. One try, 200 ms at most.
                "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "parley",
        }
    }

# django-ratelimit refuses LocMemCache (E003) because it is per process. On the
# embedded default that is exactly what we accept (documented in the README);
# with REDIS_URL the limits are shared. W001 is the "unknown backend" warning for
# our FailoverRedisCache, which is django-redis underneath.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if not REDIS_URL:
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "core.views.ratelimited"

# --- Auth
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}

EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Where the plan page sends owners who want to upgrade (plans are changed by support staff).
SUPPORT_EMAIL = os.environ.get("PARLEY_SUPPORT_EMAIL", "support@parley.local")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "Parley <no-reply@parley.local>")

# --- Sessions (SPEC §1): Auth.js-style cookie names, server-side sessions.
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", False)
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "__Secure-authjs.session-token" if SECURE_COOKIES else "authjs.session-token"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# Idle timeout: the session ends after this many seconds without a request.
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", str(8 * 3600)))
# Absolute timeout: the session ends this long after login, active or not.
SESSION_ABSOLUTE_TIMEOUT = int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT", str(7 * 24 * 3600)))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
# Paths whose views never use the session (API keys, visitor tokens, Twilio's signature):
# the timeout middleware leaves it unread there, so no answer sets or varies on a cookie.
SESSIONLESS_PATHS = ("/api/v1/", "/api/widget/", "/api/sms/", "/api/secret-scanning/")

# --- Single sign-on (OpenID Connect; Auth0 in production). Enabled when the client
# id is set together with either AUTH0_DOMAIN or the explicit endpoints.
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
AUTH0_DOMAIN = os.environ.get("AUTH0_DOMAIN", "")
_auth0 = f"https://{AUTH0_DOMAIN}" if AUTH0_DOMAIN else ""
OIDC_OP_ISSUER = os.environ.get("OIDC_OP_ISSUER", f"{_auth0}/" if _auth0 else "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get(
    "OIDC_OP_AUTHORIZATION_ENDPOINT", f"{_auth0}/authorize" if _auth0 else ""
)
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", f"{_auth0}/oauth/token" if _auth0 else "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", f"{_auth0}/userinfo" if _auth0 else "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", f"{_auth0}/.well-known/jwks.json" if _auth0 else "")
OIDC_OP_LOGOUT_ENDPOINT = os.environ.get("OIDC_OP_LOGOUT_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = "openid email"
OIDC_USE_PKCE = True
# The id token is not kept in the session: no logout round trip to the provider is needed.
OIDC_STORE_ID_TOKEN = False
OIDC_CREATE_USER = True
OIDC_TIMEOUT = 10
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
# Both steps 404 while SSO is off, and are limited per client IP (accounts/views.py).
OIDC_AUTHENTICATE_CLASS = "accounts.views.SsoAuthenticateView"
OIDC_CALLBACK_CLASS = "accounts.views.SsoCallbackView"
SSO_RATE_LIMIT = os.environ.get("SSO_RATE_LIMIT", "30/m")
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID and OIDC_OP_AUTHORIZATION_ENDPOINT)
if SSO_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.oidc.ParleyOIDCBackend")

# --- REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # OPTIONS is not an operation of any API here (405): DRF would answer it with the
    # view's name and docstring. Widget preflights are answered by django-cors-headers first.
    "DEFAULT_METADATA_CLASS": None,
}
# The public API's OpenAPI document (/api/v1/schema/) and its docs (/api/v1/docs/):
# core/openapi.py, apikeys/schema.py, and each app's schema.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "The public REST API of Parley: a workspace's contacts, tickets, assistants and conversations.\n\n"
        "**Authentication**: a secret workspace API key (`wsk_live_…`, made by owners and admins in "
        "Settings → API Keys) as `Authorization: Bearer <key>` or `X-Api-Key: <key>`; never in the URL. "
        "Each operation names the scope it needs (`x-required-scope`); write scopes need the Pro plan.\n\n"
        '**Errors** use one envelope: `{"error": {"code", "message", "hint"?, …, "request_id"}}`.\n\n'
        '**Lists** are cursor-paginated, newest first: `{"next", "previous", "results"}`, '
        "`?limit=` 1–100 (default 25); follow `next` to walk them.\n\n"
        "**Rate limits**: every answer past the key check carries `X-RateLimit-Limit`, "
        "`X-RateLimit-Remaining` and `X-RateLimit-Reset`, and the same numbers as the IETF fields "
        '`RateLimit-Policy: "key";q=<limit>;w=<window seconds>` and `RateLimit: "key";r=<remaining>;t=<reset seconds>` '
        "(draft-ietf-httpapi-ratelimit-headers-11); a 429 carries `Retry-After`."
    ),
    # 3.1: a security requirement may name roles for http/apiKey schemes (the operation's scope).
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["core.openapi.only_public_api"],
    # drf-spectacular's own enum hook, then the links stateful clients follow (create → get by id…).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.openapi.link_operations"],
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    "SERVE_AUTHENTICATION": [],  # the schema and the docs need no key
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from drf-spectacular-sidecar (our static files, no CDN); its init script is
    # a separate same-origin file (core.api_docs.ApiDocsView), as the CSP allows no inline script.
    # A contact's or ticket's source and a conversation's channel are the same four values.
    "ENUM_NAME_OVERRIDES": {"ChannelEnum": "assistants.models.Conversation.Channel"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "displayOperationId": True,
        "showExtensions": True,
        "validatorUrl": None,
    },
}

# --- What anyone may call without signing in (core.middleware.PublicRateLimitMiddleware):
# this many requests per client IP, unless another limit already counts them. The widget's
# endpoints have their own per-IP and per-token limits (WIDGET_RATE_LIMITS), Twilio's count
# refused requests per IP, and the load balancer's probes are never limited.
PUBLIC_RATE_LIMIT = os.environ.get("PUBLIC_RATE_LIMIT", "600/m")
PUBLIC_RATE_LIMIT_EXEMPT = ["/healthz", "/readyz", "/metrics", "/api/widget/", "/api/sms/"]

# --- API keys (SPEC §2)
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "1000/h")
# Failed key attempts per client IP before 429 (brute force).
API_AUTH_FAILURE_RATE = os.environ.get("API_AUTH_FAILURE_RATE", "30/m")
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Seconds a key record may live in the shared cache; revocation invalidates sooner.
API_KEY_CACHE_TTL = int(os.environ.get("API_KEY_CACHE_TTL", "60"))
# The per-key request log (apikeys/usage.py): on or off (the benchmark compares both), how long
# rows are kept, and the buffer: each process hands what it recorded off every
# API_REQUEST_LOG_FLUSH_SECONDS or API_REQUEST_LOG_BATCH entries, whichever comes first, from
# a thread of its own (API_REQUEST_LOG_BACKGROUND; the test suite flushes by hand instead).
# With Redis the batches go to a stream that the task worker drains (a web process drains only
# entries that waited API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS: no worker runs); entries a dead
# process had read and not stored are taken over after API_REQUEST_LOG_RECLAIM_SECONDS.
API_REQUEST_LOG = env_bool("API_REQUEST_LOG", True)
API_LOG_RETENTION_DAYS = int(os.environ.get("API_LOG_RETENTION_DAYS", "30"))
API_REQUEST_LOG_BACKGROUND = env_bool("API_REQUEST_LOG_BACKGROUND", True)
API_REQUEST_LOG_FLUSH_SECONDS = float(os.environ.get("API_REQUEST_LOG_FLUSH_SECONDS", "0.5"))
API_REQUEST_LOG_BATCH = int(os.environ.get("API_REQUEST_LOG_BATCH", "100"))
API_REQUEST_LOG_RECLAIM_SECONDS = float(os.environ.get("API_REQUEST_LOG_RECLAIM_SECONDS", "30"))
# With Redis: each process also holds key records in memory, invalidated by Redis'
# client-side-caching pushes (apikeys/localcache.py); off = one Redis call per request.
API_KEY_LOCAL_CACHE = env_bool("API_KEY_LOCAL_CACHE", True)
# The Redis the tracking connection uses (default: REDIS_URL; tests point it through a proxy).
API_KEY_TRACKING_URL = os.environ.get("API_KEY_TRACKING_URL", "")
# Rate limits of keys held in memory are counted per process and added to Redis every
# API_RATE_LIMIT_BATCH requests or API_RATE_LIMIT_FLUSH_MS ms (overshoot at most
# processes x batch); API_RATE_LIMIT_EXACT counts every request in Redis (apikeys/throttling.py).
API_RATE_LIMIT_BATCH = int(os.environ.get("API_RATE_LIMIT_BATCH", "50"))
# 100 ms: a busy worker (~500 requests a second) flushes once a batch either way; at 50 ms it
# flushed every 25 requests, each a Redis round trip its request waits for (issue #23).
API_RATE_LIMIT_FLUSH_MS = int(os.environ.get("API_RATE_LIMIT_FLUSH_MS", "100"))
API_RATE_LIMIT_EXACT = env_bool("API_RATE_LIMIT_EXACT", False)
API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS = float(os.environ.get("API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS", "10"))
# The task worker's drain thread stores at this niceness (19: the lowest priority; 0 keeps the
# worker's), and counts as alive for this long after its last batch: while it is, web
# processes leave the stream to it, however far behind it has fallen.
API_REQUEST_LOG_DRAIN_NICE = int(os.environ.get("API_REQUEST_LOG_DRAIN_NICE", "19"))
API_REQUEST_LOG_DRAINER_ALIVE_SECONDS = float(os.environ.get("API_REQUEST_LOG_DRAINER_ALIVE_SECONDS", "30"))

# --- Leaked keys (SPEC §11): GitHub's secret-scanning partner endpoint, /api/secret-scanning/github.
# Where GitHub publishes the keys that sign its reports, and the per-IP limit of that endpoint.
SECRET_SCANNING_GITHUB_KEYS_URL = os.environ.get(
    "SECRET_SCANNING_GITHUB_KEYS_URL", "https://api.github.com/meta/public_keys/secret_scanning"
)
SECRET_SCANNING_RATE_LIMIT = os.environ.get("SECRET_SCANNING_RATE_LIMIT", "120/m")

# --- Secrets kept encrypted at rest (core/crypto.py): Fernet keys, newest first.
# Unset: one key derived from SECRET_KEY. Make one with
# python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

# --- Assistants: who answers a visitor's message (assistants/responders.py).
ASSISTANT_RESPONDER = os.environ.get("ASSISTANT_RESPONDER", "assistants.responders.FaqResponder")

# --- Twilio (SPEC §7). PUBLIC_BASE_URL is the address Twilio calls back (status
# callbacks, signed webhooks); TWILIO_API_BASE_URL sends Twilio REST calls elsewhere
# (an edge or proxy; the tests' local recorder). Empty: api.twilio.com.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")

# --- The chat widget (SPEC §5): public endpoints under /api/widget/, visitor tokens wst_….
# Rates as django-ratelimit writes them ("30/m"); per client IP for config, session,
# tickets (every request counts), qnas and search, per visitor token for the rest, and
# per client IP too for lead and feedback (lead_ip, feedback_ip).
WIDGET_RATE_LIMITS = {
    "config": "120/m",
    "session": "20/m",
    "chat": "30/m",
    "history": "60/m",
    "lead": "10/h",
    "feedback": "10/h",
    "tickets": "5/h",
    "qnas": "120/m",
    "search": "60/m",
    # Leads become contacts of the customer's CRM and feedback its ratings: besides per token, also
    # per IP, so a script starting session after session (20/m) cannot fill the CRM or stuff the ratings.
    "lead_ip": "30/h",
    "feedback_ip": "30/h",
    # CORS preflights, per IP: answered by django-cors-headers before any view (browsers cache them 10 min).
    "preflight": "120/m",
}
for _name in WIDGET_RATE_LIMITS:  # e.g. WIDGET_RATE_LIMIT_CHAT=60/m
    WIDGET_RATE_LIMITS[_name] = os.environ.get(f"WIDGET_RATE_LIMIT_{_name.upper()}", WIDGET_RATE_LIMITS[_name])
# A visitor token expires after this long unused, and this long after it was made at most.
WIDGET_SESSION_IDLE_SECONDS = 30 * 60
WIDGET_SESSION_MAX_SECONDS = 24 * 3600
# The idle mark (last_seen_at) is written at most this often per token, not on every request.
WIDGET_SESSION_TOUCH_SECONDS = 60
# Leeway for the exp (and nbf, iat) of identity-verification JWTs: the customer's clock may differ.
WIDGET_IDENTITY_CLOCK_SKEW_SECONDS = 30
# How long an assistant's widget settings stay in the cache (saves drop them at once).
WIDGET_PROFILE_CACHE_SECONDS = 30
# The workspace whose widget-enabled assistant /widget/demo/ shows (manage.py seed_demo makes it).
WIDGET_DEMO_WORKSPACE = os.environ.get("WIDGET_DEMO_WORKSPACE", "demo")

# django-cors-headers: CORS only under /api/widget/, origins decided per assistant by
# widget/cors.py, never with credentials (the widget sends no cookies).
CORS_URLS_REGEX = r"^/api/widget/"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-Id"]
CORS_PREFLIGHT_MAX_AGE = 600

# --- Background tasks (webhook deliveries): django-tasks-db keeps the queue in the
# database (SQLite too) and `manage.py db_worker` runs it; ./dev serve starts one.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Webhooks (webhooks/targets.py): outside development only https on port 443 (or
# one of WEBHOOK_ALLOWED_PORTS) to public addresses. WEBHOOK_ALLOW_PRIVATE_TARGETS
# (on in local) also allows http, any port, and loopback/private addresses.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_ALLOWED_PORTS = [int(port) for port in env_list("WEBHOOK_ALLOWED_PORTS")]
# Delivery timing (webhooks/services.py, webhooks/tasks.py), in seconds. An attempt in
# flight holds its delivery for the lease; a pending delivery due longer than the
# requeue threshold ago had its task lost (a killed worker) and the sweep, run every
# sweep interval, queues it again; events the on-commit receiver missed are dispatched
# by the sweep once older than the dispatch threshold; a sweep "running" longer than
# its dead-after limit was left by a killed worker and another is queued. The defaults
# are production's; bench/soak shortens them so a 30-second run sees a killed worker's
# delivery come back.
WEBHOOK_ATTEMPT_LEASE_SECONDS = float(os.environ.get("WEBHOOK_ATTEMPT_LEASE_SECONDS", "120"))
WEBHOOK_REQUEUE_AFTER_SECONDS = float(os.environ.get("WEBHOOK_REQUEUE_AFTER_SECONDS", "300"))
WEBHOOK_SWEEP_INTERVAL_SECONDS = float(os.environ.get("WEBHOOK_SWEEP_INTERVAL_SECONDS", "60"))
WEBHOOK_SWEEP_DEAD_AFTER_SECONDS = float(os.environ.get("WEBHOOK_SWEEP_DEAD_AFTER_SECONDS", "600"))
WEBHOOK_DISPATCH_AFTER_SECONDS = float(os.environ.get("WEBHOOK_DISPATCH_AFTER_SECONDS", "30"))
# A subscription whose attempts have all failed for 5 days is disabled; so is one after
# this many failed attempts in a row (0: only the 5 days count).
WEBHOOK_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", "0"))

# --- Metrics (core/metrics.py): /metrics answers these addresses or networks only.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])

# --- Static files (whitenoise)
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security headers (SPEC §10)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF] + ([OIDC_OP_AUTHORIZATION_ENDPOINT] if SSO_ENABLED else []),
    }
}

DEFAULT_EXCEPTION_REPORTER_FILTER = "core.logging.ExceptionReporterFilter"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.logging.RedactSecretsFilter"}},
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
