"""Trunkline settings.

Everything that differs between the demo, the tests and production comes from environment variables
(docs/design.md, "Configuration"); nothing secret lives in this file. TRUNKLINE_DEMO=1 (set by `make run` and
`manage.py demo`) unlocks the demo's defaults: a secret key, local hosts, the simulator's OAuth app and webhook
secret, plain http. DEBUG is only Django's debug mode, off in the demo too, so the demo shows the product's own
error pages.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("TRUNKLINE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DEMO = env.bool("TRUNKLINE_DEMO", default=False)
# Production unless this is the demo or a developer's debugging run: HTTPS only, secure cookies, hashed static files.
PRODUCTION = not (DEMO or DEBUG)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEMO:
        raise ImproperlyConfigured("SECRET_KEY must be set (or TRUNKLINE_DEMO=1 for the demo's own).")
    SECRET_KEY = "demo-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105 - the demo only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEMO else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "delivery.core",
    "delivery.clickup",
    "delivery.accounts",
    "delivery.github",
    "delivery.pipeline",
    "delivery.monitoring",
    "delivery.rollbacks",
    "delivery.metrics",
    "delivery.reports",
    "delivery.notifications",
    "delivery.simulator",
    "delivery.flows",
    "delivery.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "delivery.core.middleware.ContentSecurityPolicyMiddleware",
    "delivery.core.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "delivery.core.middleware.SignedInNoStoreMiddleware",
    # Every page needs sign-in except those marked @login_not_required: the webhook endpoint, /healthz and
    # the sign-in pages (allauth marks its own).
    "delivery.accounts.middleware.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "delivery.core.error_pages.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "delivery.urls"
WSGI_APPLICATION = "delivery.wsgi.application"

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
                "delivery.accounts.context_processors.people",
            ],
        },
    },
]

# Database: PostgreSQL in production and CI, a SQLite file for the embedded demo.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'trunkline.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs a web server and a Celery worker against one file: WAL lets readers and the writer
    # overlap, and IMMEDIATE transactions make writers queue instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so a Celery worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-trunkline.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL's JIT compiles a query whose estimated cost is high, as the metrics' aggregates over subqueries
        # are: 20-30 ms of compiling for queries that run in tens of ms. A web app's short queries never gain from it.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis is the Celery broker and the cache; without it the demo uses kombu's filesystem transport,
# a broker that needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
# No task waits in a countdown longer than this (a rate limit's reset, Slack's Retry-After; delivery.celery.Task
# cuts longer ones, which then wait again). Redis hands an unacknowledged message to another worker after the
# visibility timeout, so that must exceed the longest countdown plus a task's run, or a waiting task runs twice
# (tests/core/test_task_countdowns.py pins it).
TASK_MAX_COUNTDOWN_SECONDS = 3600
REDIS_VISIBILITY_TIMEOUT = 2 * 3600
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": REDIS_VISIBILITY_TIMEOUT,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "staging").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "trunkline-filesystem://"  # delivery.core.broker: kombu's, with atomic writes
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "staging_folder": str(_broker_dir / "staging"),
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The transport polls its folder; the default (1 s) would take one webhook delivery a second.
        "polling_interval": 0.05,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="trunkline")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SYNC_INTERVAL_MINUTES = env.int("SYNC_INTERVAL_MINUTES", default=10)
WEBHOOK_RECOVERY_MINUTES = env.int("WEBHOOK_RECOVERY_MINUTES", default=10)
DERIVE_INTERVAL_MINUTES = env.int("DERIVE_INTERVAL_MINUTES", default=1)
# A webhook delivery's claim is renewed while a worker processes it; one not renewed for this long belongs to a dead
# worker and is taken again. A delivery queued this long ago and still pending lost its message (a dead worker had
# reserved it). Beat sweeps for both this often: within 2 minutes of a worker being up, nothing waits.
WEBHOOK_CLAIM_STALE_SECONDS = env.int("WEBHOOK_CLAIM_STALE_SECONDS", default=60)
WEBHOOK_LOST_MESSAGE_SECONDS = env.int("WEBHOOK_LOST_MESSAGE_SECONDS", default=60)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=30)
# A broker that does not answer must not hold up a webhook's acknowledgement for long.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
# The watch reads production's signals (Prometheus, Sentry) of every open watch this often (delivery/monitoring).
SIGNALS_READ_MINUTES = env.float("SIGNALS_READ_MINUTES", default=2)
CELERY_BEAT_SCHEDULE = {
    "sync-organization": {
        "task": "delivery.github.tasks.sync_organization_task",
        "schedule": timedelta(minutes=SYNC_INTERVAL_MINUTES),
    },
    # The pipeline moves with time too (watch windows end, changes become stuck): derive every repository.
    "derive-pipeline": {
        "task": "flows.derive_all",
        "schedule": timedelta(minutes=DERIVE_INTERVAL_MINUTES),
    },
    # Stored webhook deliveries the broker could not take (it was down) are queued once it is back, and those of
    # dead workers (a claim no longer renewed, a reserved message never run) are queued again.
    "sweep-webhook-deliveries": {
        "task": "delivery.github.tasks.sweep_webhook_deliveries_task",
        "schedule": timedelta(seconds=WEBHOOK_SWEEP_SECONDS),
    },
    # Deliveries GitHub failed to make (Trunkline was down) are redelivered from GitHub's log.
    "recover-webhook-deliveries": {
        "task": "delivery.github.tasks.recover_webhook_deliveries_task",
        "schedule": timedelta(minutes=WEBHOOK_RECOVERY_MINUTES),
    },
    # Stored Alertmanager deliveries the broker could not take, or whose worker died, are queued again.
    "sweep-alert-deliveries": {
        "task": "flows.alert_deliveries_sweep",
        "schedule": timedelta(seconds=WEBHOOK_SWEEP_SECONDS),
    },
    # ClickUp's tasks linked to changes are read again (names, statuses, assignees move in ClickUp too).
    "clickup-task-links": {"task": "flows.task_links_refresh", "schedule": timedelta(minutes=5)},
    # Each open watch's signals are read and judged; a degraded verdict tells its owner, later on-call.
    "watch-signals": {"task": "flows.watch_signals_read", "schedule": timedelta(minutes=SIGNALS_READ_MINUTES)},
    # ClickUp's members (matched to people by e-mail) and the followed lists' tasks assigned to them (My queue).
    "clickup-queues": {"task": "flows.clickup_queues", "schedule": timedelta(minutes=5)},
    # ClickUp's stored webhook deliveries, as GitHub's above.
    "sweep-clickup-deliveries": {
        "task": "flows.clickup_deliveries_sweep",
        "schedule": timedelta(seconds=WEBHOOK_SWEEP_SECONDS),
    },
    # Watches past their window and grace alert the owner, then on-call.
    "watches-overdue": {"task": "flows.watches_overdue", "schedule": timedelta(minutes=1)},
    # The weekly report: beat asks often, the flow builds (and posts) the week just ended once it is due, so a beat
    # that was down on Monday morning catches up when it is back.
    "weekly-reports": {"task": "flows.weekly_reports", "schedule": timedelta(minutes=15)},
    # A change 75 % and 90 % of the way to a working agreement's limit: its owner hears it once on Slack.
    "agreement-nudges": {"task": "flows.agreement_nudges", "schedule": timedelta(minutes=5)},
    # Rollbacks follow GitHub by webhooks; this reads GitHub for those that hear nothing, and times them out.
    "poll-rollbacks": {"task": "flows.poll_rollbacks", "schedule": timedelta(minutes=1)},
    # People who left the organization lose their access (sign-in checks membership; this catches the rest).
    "sweep-members": {"task": "github.members_sweep", "schedule": timedelta(minutes=30)},
    # Slack notices whose send was lost (broker down, worker died) are queued again.
    "sweep-notifications": {"task": "notifications.sweep", "schedule": timedelta(minutes=1)},
    # The worker proves it is alive (and beat that it schedules): /healthz reads the time.
    "worker-heartbeat": {"task": "delivery.core.tasks.heartbeat_task", "schedule": timedelta(minutes=1)},
}

# GitHub. The API lives at GITHUB_URL/api/v3 unless GITHUB_URL is github.com (GitHub Enterprise layout,
# which the built-in simulator speaks too).
GITHUB_URL = env.str("GITHUB_URL", default="https://github.com").rstrip("/")
GITHUB_API_URL = (
    "https://api.github.com" if GITHUB_URL in ("https://github.com", "http://github.com") else f"{GITHUB_URL}/api/v3"
)
GITHUB_ORG = env.str("GITHUB_ORG", default="")
GITHUB_TOKEN = env.str("GITHUB_TOKEN", default="")
GITHUB_APP_ID = env.str("GITHUB_APP_ID", default="")
GITHUB_APP_PRIVATE_KEY = env.str("GITHUB_APP_PRIVATE_KEY", default="")
GITHUB_APP_INSTALLATION_ID = env.str("GITHUB_APP_INSTALLATION_ID", default="")
GITHUB_WEBHOOK_SECRET = env.str("GITHUB_WEBHOOK_SECRET", default="demo-webhook-secret" if DEMO else "")
# Where GitHub reaches this Trunkline (the webhook URL is TRUNKLINE_PUBLIC_URL/webhooks/github/).
TRUNKLINE_PUBLIC_URL = env.str(
    "TRUNKLINE_PUBLIC_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}" if DEMO else ""
).rstrip("/")
GITHUB_OAUTH_CLIENT_ID = env.str("GITHUB_OAUTH_CLIENT_ID", default="trunkline-demo" if DEMO else "")
GITHUB_OAUTH_CLIENT_SECRET = env.str("GITHUB_OAUTH_CLIENT_SECRET", default="trunkline-demo-secret" if DEMO else "")
# PyGithub throttles itself between requests; GitHub asks for serial, paced requests, the simulator does not.
GITHUB_SECONDS_BETWEEN_REQUESTS = env.float("GITHUB_SECONDS_BETWEEN_REQUESTS", default=0.25)
GITHUB_SECONDS_BETWEEN_WRITES = env.float("GITHUB_SECONDS_BETWEEN_WRITES", default=1.0)
GITHUB_TIMEOUT = env.float("GITHUB_TIMEOUT", default=15.0)
# Quick in-process retries of a 5xx before the error reaches the task (which then retries with a countdown).
GITHUB_TRANSIENT_RETRIES = env.int("GITHUB_TRANSIENT_RETRIES", default=3)
GITHUB_BACKOFF_SECONDS = env.float("GITHUB_BACKOFF_SECONDS", default=1.0)
# How far back a first sync of a repository reads commits, deployments and workflow runs.
GITHUB_SYNC_GRAPHQL = env.bool("GITHUB_SYNC_GRAPHQL", default=True)  # else pull requests and deployments by REST
SYNC_BACKFILL_DAYS = env.int("SYNC_BACKFILL_DAYS", default=120)
# A sync holds its repository's lease this long past its last sign of life (it renews it as it goes): a worker
# that dies delays the next sync of that repository by about this much (github/sync_lease.py).
SYNC_LOCK_MINUTES = env.float("SYNC_LOCK_MINUTES", default=3)
# How far back the sync re-reads deployments and workflow runs whose state may still move.
SYNC_RECHECK_DAYS = env.int("SYNC_RECHECK_DAYS", default=2)

# Slack notices (delivery/notifications): the Web API with a bot token (channel per repository, direct mentions),
# else an incoming webhook (its own channel); without either, notices are logged and shown in the app only.
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
SLACK_DEFAULT_CHANNEL = env.str("SLACK_DEFAULT_CHANNEL", default="")
SLACK_TIMEOUT_SECONDS = env.float("SLACK_TIMEOUT_SECONDS", default=10.0)
SLACK_MAX_ATTEMPTS = env.int("SLACK_MAX_ATTEMPTS", default=8)
SLACK_RETRY_BACKOFF_SECONDS = env.float("SLACK_RETRY_BACKOFF_SECONDS", default=30.0)
SLACK_RETRY_MAX_SECONDS = env.float("SLACK_RETRY_MAX_SECONDS", default=900.0)
# The weekly report (delivery/reports): built for the week just ended once it is REPORT_WEEKDAY (0 Monday … 6
# Sunday) at REPORT_HOUR or later in TIME_ZONE, for the organization and each team; its summary goes to
# SLACK_REPORT_CHANNEL (else SLACK_DEFAULT_CHANNEL), a team's to its channel in SLACK_TEAM_REPORT_CHANNELS
# ("payments=#payments-retro,web=#web"; a team not listed gets no Slack summary).
REPORT_WEEKDAY = env.int("REPORT_WEEKDAY", default=0)
REPORT_HOUR = env.int("REPORT_HOUR", default=7)
SLACK_REPORT_CHANNEL = env.str("SLACK_REPORT_CHANNEL", default="")
SLACK_TEAM_REPORT_CHANNELS = env.dict("SLACK_TEAM_REPORT_CHANNELS", default={})
# The working calendar (delivery/core/calendar.py): the working days (ISO weekdays, 1 Monday … 7 Sunday: "1-5",
# "1,2,3,4,5") and hours ("9-17": 09:00 to 17:00) in TIME_ZONE that the working agreements' "working hours" count.
WORK_DAYS = env.str("WORK_DAYS", default="1-5")
WORK_HOURS = env.str("WORK_HOURS", default="9-17")
CLICKUP_TOKEN = env.str("CLICKUP_TOKEN", default="")
CLICKUP_TEAM_ID = env.str("CLICKUP_TEAM_ID", default="")
CLICKUP_WEBHOOK_SECRET = env.str("CLICKUP_WEBHOOK_SECRET", default="")
# ClickUp (delivery/clickup): task references in branch names, PR titles and bodies link a change to its tasks.
# CLICKUP_CUSTOM_ID_PREFIXES ("PRJ,OPS") are the Spaces' custom id prefixes; CLICKUP_HASH_IDS reads `#abc123` as a
# task too (never `#123`: that is a pull request). Task data is read with the token from CLICKUP_API_URL and kept
# CLICKUP_REFRESH_MINUTES before it is read again.
CLICKUP_API_URL = env.str("CLICKUP_API_URL", default="https://api.clickup.com")
CLICKUP_CUSTOM_ID_PREFIXES = env.list("CLICKUP_CUSTOM_ID_PREFIXES", default=[])
CLICKUP_HASH_IDS = env.bool("CLICKUP_HASH_IDS", default=False)
CLICKUP_TIMEOUT_SECONDS = env.float("CLICKUP_TIMEOUT_SECONDS", default=10.0)
CLICKUP_REFRESH_MINUTES = env.int("CLICKUP_REFRESH_MINUTES", default=15)
CLICKUP_RETRY_BACKOFF_SECONDS = env.float("CLICKUP_RETRY_BACKOFF_SECONDS", default=30.0)
CLICKUP_RETRY_MAX_SECONDS = env.float("CLICKUP_RETRY_MAX_SECONDS", default=900.0)
# The lists whose open tasks My queue shows, assigned to each person and named by no change yet ("901000,901001").
CLICKUP_QUEUE_LISTS = env.list("CLICKUP_QUEUE_LISTS", default=[])
# The status a task moves to when work on it starts: the lead time from the task's start counts from its move there.
CLICKUP_STARTED_STATUS = env.str("CLICKUP_STARTED_STATUS", default="in progress")

# The delivery figures (delivery/metrics). Bots are left out of them by default: GitHub's Bot accounts and these
# logins (with or without GitHub's "[bot]" suffix).
METRICS_BOT_LOGINS = env.list("METRICS_BOT_LOGINS", default=["dependabot", "renovate", "github-actions"])
# The metrics page and API keep what they computed for a scope this long, under the figures' stamp
# (delivery/core/stamps.py): a sync, a webhook, a sign-off, a rollback or a corrected record moves the stamp, so a
# cached answer is never read after a write; the time limit bounds what time alone moves (a watch window ending).
# 0: compute every time.
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=300)
# DORA's performance levels: the 2023 report's table, the last one published as cut-offs (docs/design.md, Metrics).
# A figure at or better than a level's value has that level; worse than medium is low.
METRICS_LEVELS = {
    "deployment_days_per_week": {"elite": 5.0, "high": 1.0, "medium": 12 / 52},  # at least, per week
    "lead_time_seconds": {"elite": 86_400.0, "high": 7 * 86_400.0, "medium": 30 * 86_400.0},  # less than
    "change_failure_rate": {"elite": 0.05, "high": 0.10, "medium": 0.15},  # at most
    "recovery_seconds": {"elite": 3_600.0, "high": 86_400.0, "medium": 7 * 86_400.0},  # less than
}

# Sign-in: GitHub OAuth through allauth (issue: sign-in and roles).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
SITE_ID = 1
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_ADAPTER = "delivery.web.signin.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "delivery.web.signin.SocialAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = False  # people are GitHub accounts; two may share an address
ACCOUNT_LOGOUT_ON_GET = False  # sign-out is a POST
SOCIALACCOUNT_ONLY = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # sign-in starts with a POST (a link cannot sign anyone in)
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_STORE_TOKENS = False
# Who may come in besides active members of GITHUB_ORG, who is made admin on sign-in (to bootstrap a team),
# and the role everyone else starts with. Logins, comma-separated.
TRUNKLINE_ALLOWED_LOGINS = env.list("TRUNKLINE_ALLOWED_LOGINS", default=[])
TRUNKLINE_ADMIN_LOGINS = env.list("TRUNKLINE_ADMIN_LOGINS", default=[])
TRUNKLINE_DEFAULT_ROLE = env.str("TRUNKLINE_DEFAULT_ROLE", default="developer")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=7 * 24 * 3600)  # then sign in again (and be re-checked)
if TRUNKLINE_DEFAULT_ROLE not in ("viewer", "developer", "on-call", "admin"):
    raise ImproperlyConfigured("TRUNKLINE_DEFAULT_ROLE must be viewer, developer, on-call or admin.")
# Alertmanager's webhook (POST /webhooks/alertmanager/): a bearer token or a basic-auth pair, as its http_config
# sends them. Neither set: every delivery is refused (401).
ALERTMANAGER_WEBHOOK_TOKEN = env.str("ALERTMANAGER_WEBHOOK_TOKEN", default="demo-alertmanager-token" if DEMO else "")
ALERTMANAGER_WEBHOOK_USERNAME = env.str("ALERTMANAGER_WEBHOOK_USERNAME", default="")
ALERTMANAGER_WEBHOOK_PASSWORD = env.str("ALERTMANAGER_WEBHOOK_PASSWORD", default="")
# A watch still open this long after its owner was alerted alerts on-call.
MONITORING_ESCALATION_MINUTES = env.int("MONITORING_ESCALATION_MINUTES", default=15)
# The watch's signals (delivery/monitoring: prometheus.py, sentry.py). Where Prometheus is, is each repository's
# setting; its bearer token, if it needs one, is this. Sentry's organization and project are each repository's too.
PROMETHEUS_BEARER_TOKEN = env.str("PROMETHEUS_BEARER_TOKEN", default="")
PROMETHEUS_TIMEOUT_SECONDS = env.float("PROMETHEUS_TIMEOUT_SECONDS", default=5.0)
SENTRY_TOKEN = env.str("SENTRY_TOKEN", default="")
SENTRY_URL = env.str("SENTRY_URL", default="https://sentry.io").rstrip("/")
SENTRY_TIMEOUT_SECONDS = env.float("SENTRY_TIMEOUT_SECONDS", default=5.0)
# A rollback with no finished production deployment this long after the request fails with that reason.
ROLLBACK_TIMEOUT_MINUTES = env.int("ROLLBACK_TIMEOUT_MINUTES", default=20)
# /healthz reports the worker down when its last heartbeat (beat, every minute) is older than this.
HEALTHZ_WORKER_MAX_AGE_SECONDS = env.int("HEALTHZ_WORKER_MAX_AGE_SECONDS", default=180)
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        "SCOPE": ["read:user", "user:email", "read:org"],
        "APP": {"client_id": GITHUB_OAUTH_CLIENT_ID, "secret": GITHUB_OAUTH_CLIENT_SECRET, "key": ""},
        **({} if GITHUB_URL == "https://github.com" else {"GITHUB_URL": GITHUB_URL}),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves the hashed copies `collectstatic` makes; the demo needs no collectstatic: WhiteNoise serves
    # the files where they are (its finders, below), by their plain names, with DEBUG off as well.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# Production hardening; passes `manage.py check --deploy`. Behind a TLS-terminating proxy. The demo runs on
# http://127.0.0.1, where a redirect to https or a secure-only cookie would lock everyone out.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^webhooks/"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles from Trunkline itself only, no inline script, style or
# eval (the templates use none; htmx is told not to add its own <style>). GitHub's address is added per request to
# img-src (avatars) and form-action (sign-in continues there): delivery.core.middleware.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "https://avatars.githubusercontent.com"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"expected_refusals": {"()": "delivery.core.log_filters.ExpectedRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG on) would print each record a second time next to the root's.
        "django": {"handlers": [], "propagate": True},
        # A 403 from a role check: one line, no traceback.
        "django.request": {"filters": ["expected_refusals"]},
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
