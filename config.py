"""Application settings: one class per environment, every value overridable from the environment.

``create_app`` takes one of these classes (or a name: "development", "testing",
"production"); ``SURVEYAPP_CONFIG`` picks it for ``flask`` commands and gunicorn.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import FrameType

PROJECT_ROOT = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("SURVEYAPP_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "development-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'surveyapp.sqlite'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15_000)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    # How many reverse proxies stand in front of the app servers (nginx: 1). Their
    # X-Forwarded-For and X-Forwarded-Proto then give the client's address and scheme, which
    # login throttling, rate limits and the audit log use; 0 trusts no such header (a client
    # could write it), and every client behind a proxy then shares the proxy's address.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    REGISTRY_PAGE_SIZE = _env_int("REGISTRY_PAGE_SIZE", 50)
    API_MAX_PER_PAGE = 500
    IMPORT_MAX_ROWS = _env_int("IMPORT_MAX_ROWS", 200_000)
    # Contact imports commit this many rows at a time, so other writers (saves, the mail
    # worker) get SQLite's lock between batches rather than waiting out a whole file.
    IMPORT_CHUNK_ROWS = _env_int("IMPORT_CHUNK_ROWS", 200)
    IMPORT_MAX_CELL_LENGTH = _env_int("IMPORT_MAX_CELL_LENGTH", 5_000)
    # An imported XLSX workbook (a zip archive) may unpack to at most this many bytes, and,
    # above 1 MiB unpacked, to at most this many times its packed size: a few kilobytes
    # can otherwise unpack to gigabytes (a "zip bomb").
    IMPORT_MAX_UNCOMPRESSED_BYTES = _env_int("IMPORT_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024)
    IMPORT_MAX_COMPRESSION_RATIO = _env_int("IMPORT_MAX_COMPRESSION_RATIO", 100)
    DUPLICATE_NAME_THRESHOLD = _env_int("DUPLICATE_NAME_THRESHOLD", 88)
    # Folders of questionnaire definitions (forms/ first); colon-separated in the environment.
    QUESTIONNAIRE_DIRS = [
        Path(p)
        for p in os.environ.get("QUESTIONNAIRE_DIRS", str(PROJECT_ROOT / "forms")).split(":")
    ]
    # How long the link sent with a curator's request for changes works.
    CHANGES_LINK_DAYS = _env_int("CHANGES_LINK_DAYS", 14)
    # argon2id at OWASP's minimum (19 MiB, t=2, p=1); only TestingConfig makes it cheap.
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 2)
    ARGON2_MEMORY_KIB = _env_int("ARGON2_MEMORY_KIB", 19 * 1024)
    ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 1)
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_ABSOLUTE_HOURS = _env_int("SESSION_ABSOLUTE_HOURS", 12)
    LOGIN_WINDOW_MINUTES = _env_int("LOGIN_WINDOW_MINUTES", 15)
    LOGIN_MAX_FAILURES_PER_ACCOUNT = _env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
    # Roles whose members must log in with a TOTP code after the password (comma-separated
    # role names in the environment; empty for none). Anyone may set it up voluntarily.
    TWO_FACTOR_ROLES: tuple[str, ...] = tuple(
        role.strip()
        for role in os.environ.get("TWO_FACTOR_ROLES", "admin").split(",")
        if role.strip()
    )
    # The name authenticator apps show beside the account.
    TWO_FACTOR_ISSUER = os.environ.get("TWO_FACTOR_ISSUER", "ATMP facility registry")
    # How long, after a correct password, the code may be entered before starting again.
    TWO_FACTOR_PENDING_MINUTES = _env_int("TWO_FACTOR_PENDING_MINUTES", 5)
    # Outgoing mail, with Flask-Mail's setting names.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "registry@example.org")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 30)
    MAIL_RATE_PER_MINUTE = _env_int("MAIL_RATE_PER_MINUTE", 0)
    MAIL_BATCH_SIZE = _env_int("MAIL_BATCH_SIZE", 200)
    MAIL_GIVE_UP_HOURS = _env_int("MAIL_GIVE_UP_HOURS", 72)
    MAIL_LEASE_SECONDS = _env_int("MAIL_LEASE_SECONDS", 600)
    MAIL_WORKER_POLL_SECONDS = _env_int("MAIL_WORKER_POLL_SECONDS", 5)
    MAIL_UNSUBSCRIBE_ADDRESS = os.environ.get("MAIL_UNSUBSCRIBE_ADDRESS")
    # Soft bounces (4.x.x: a full mailbox, a server down) an address may collect before it
    # counts as undeliverable; a hard bounce (5.x.x) makes it so at once.
    MAILBOX_SOFT_BOUNCE_LIMIT = _env_int("MAILBOX_SOFT_BOUNCE_LIMIT", 3)
    # The return mailbox, read over IMAP with TLS by `flask mail poll-mailbox`:
    # imaps://host[:port]; messages read are moved to the processed folder, or to the
    # folder for a person to read, never deleted. MAILBOX_CA_FILE trusts a private CA.
    MAILBOX_URL = os.environ.get("MAILBOX_URL")
    MAILBOX_USERNAME = os.environ.get("MAILBOX_USERNAME")
    MAILBOX_PASSWORD = os.environ.get("MAILBOX_PASSWORD")
    MAILBOX_FOLDER = os.environ.get("MAILBOX_FOLDER", "INBOX")
    MAILBOX_PROCESSED_FOLDER = os.environ.get("MAILBOX_PROCESSED_FOLDER", "processed")
    MAILBOX_TO_READ_FOLDER = os.environ.get("MAILBOX_TO_READ_FOLDER", "to read")
    MAILBOX_CA_FILE = os.environ.get("MAILBOX_CA_FILE")
    MAILBOX_TIMEOUT = _env_int("MAILBOX_TIMEOUT", 30)
    # When set, `flask mail worker` also reads the return mailbox this often (seconds).
    MAILBOX_POLL_SECONDS = _env_int("MAILBOX_POLL_SECONDS", 0)
    # The address links in emails are built from; never taken from a request's Host header.
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000")
    HSTS_SECONDS = 0  # ProductionConfig turns it on
    # Releases: their folders (shared storage when several app servers run), and how each
    # release's data package and CITATION.cff name the dataset and its authors.
    RELEASES_DIR = Path(os.environ.get("RELEASES_DIR", INSTANCE_DIR / "releases"))
    RELEASE_TITLE = os.environ.get(
        "RELEASE_TITLE", "European registry of facilities for Advanced Therapy Medicinal Products"
    )
    # The staff page builds a release within the request up to this many entries (about 6 s
    # here, well inside a worker timeout); a larger registry is released with
    # `flask registry release`.
    RELEASE_PAGE_MAX_ENTRIES = _env_int("RELEASE_PAGE_MAX_ENTRIES", 5_000)
    RELEASE_AUTHORS = [
        name.strip()
        for name in os.environ.get("RELEASE_AUTHORS", "ATMP facility registry curators").split(";")
        if name.strip()
    ]
    # Rate limits (Flask-Limiter) of invitation links and the public suggestion form count
    # requests in RATELIMIT_STORAGE_URI. memory:// counts in each process apart, so several
    # gunicorn workers or app servers would each allow the whole limit: they share Redis
    # instead (redis://127.0.0.1:6379/0); production refuses memory:// with several.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # What this site's keys in that storage begin with (two sites may share one Redis).
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "surveyapp")
    # While the shared storage cannot be reached, each process counts in memory (the same
    # limits, per process) rather than failing every limited page; back to it once it answers.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = _env_bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # How many processes serve the site together, on all app servers (two servers each
    # running gunicorn -w 3: 6). Gunicorn's own worker count is seen without it (see
    # serving_processes); 0 leaves it to that.
    APP_PROCESSES = _env_int("APP_PROCESSES", 0)
    LINK_RATE_LIMIT = os.environ.get("LINK_RATE_LIMIT", "60 per minute")
    SUGGESTION_RATE_LIMIT = os.environ.get("SUGGESTION_RATE_LIMIT", "5 per hour")
    # Public suggestions stored from all addresses together (a botnet has many addresses),
    # and the days a suggester has to open the emailed link before their suggestion goes.
    SUGGESTION_GLOBAL_RATE_LIMIT = os.environ.get("SUGGESTION_GLOBAL_RATE_LIMIT", "100 per hour")
    SUGGESTION_CONFIRM_DAYS = _env_int("SUGGESTION_CONFIRM_DAYS", 7)
    EMAIL_CHECK_DELIVERABILITY = _env_bool("EMAIL_CHECK_DELIVERABILITY", False)
    # People's rights: whom to write about personal data (named on /privacy), the salt of
    # the hash an erasure leaves in the audit log (SECRET_KEY when unset), and how long
    # `flask people retention` keeps things (0 keeps them for good): contacts who never
    # answered after this many closed campaigns, drafts never submitted, invitation timeline
    # events, and superseded versions of approved submissions (days).
    PRIVACY_CONTACT = os.environ.get("PRIVACY_CONTACT", "privacy@example.org")
    PRIVACY_HASH_SALT = os.environ.get("PRIVACY_HASH_SALT")
    RETENTION_CONTACT_CAMPAIGNS = _env_int("RETENTION_CONTACT_CAMPAIGNS", 3)
    RETENTION_DRAFT_DAYS = _env_int("RETENTION_DRAFT_DAYS", 365)
    RETENTION_EVENT_DAYS = _env_int("RETENTION_EVENT_DAYS", 730)
    RETENTION_VERSION_DAYS = _env_int("RETENTION_VERSION_DAYS", 730)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = _env_int("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    """``make run`` on a workstation: the SQLite file under instance/."""

    DEBUG = _env_bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    """The test suite: SQLite in a temporary file unless SURVEYAPP_TEST_DATABASE_URL is set."""

    TESTING = True
    SECRET_KEY = "testing-only-not-secret"  # noqa: S105 - fixed on purpose for tests
    SQLALCHEMY_DATABASE_URI = os.environ.get("SURVEYAPP_TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = _env_bool("WTF_CSRF_ENABLED", True)
    LINK_RATE_LIMIT = "10000 per minute"  # the rate-limit tests set their own
    SUGGESTION_RATE_LIMIT = "10000 per minute"
    SUGGESTION_GLOBAL_RATE_LIMIT = "10000 per minute"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_KIB = 8
    ARGON2_PARALLELISM = 1
    # The suite's staff fixtures log in with a password only; the two-factor tests require
    # the second factor themselves.
    TWO_FACTOR_ROLES: tuple[str, ...] = ()


class ProductionConfig(Config):
    """Served by gunicorn; refuses to start without a real SECRET_KEY."""

    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"
    # Strict-Transport-Security max-age; 0 switches it off (e.g. behind plain HTTP).
    HSTS_SECONDS = _env_int("HSTS_SECONDS", 365 * 24 * 3600)

    @classmethod
    def check(cls) -> None:
        """Raise when a setting that must be chosen by the operator was left at its default."""
        if cls.ARGON2_TIME_COST < 2 or cls.ARGON2_MEMORY_KIB < 19 * 1024:
            raise RuntimeError(
                "ProductionConfig needs argon2id at least as strong as OWASP's minimum: "
                "ARGON2_MEMORY_KIB >= 19456 and ARGON2_TIME_COST >= 2"
            )
        key = cls.SECRET_KEY
        if len(key) < 32:
            raise RuntimeError(
                "ProductionConfig needs SECRET_KEY set in the environment to a random value "
                "of at least 32 characters, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'"
            )
        processes, seen_in = serving_processes(cls.APP_PROCESSES)
        if processes > 1 and cls.RATELIMIT_STORAGE_URI.startswith("memory://"):
            raise RuntimeError(
                f"ProductionConfig is served by {processes} processes ({seen_in}) but counts "
                "rate limits in memory://, in each process apart, so each would allow the "
                "whole limit: set RATELIMIT_STORAGE_URI to a storage they share, e.g. "
                "RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0"
            )


def serving_processes(declared: int = 0) -> tuple[int, str]:
    """How many processes serve the site together, as far as this one can tell, and what
    says so: production refuses per-process rate limits when there are several.

    The largest of the operator's APP_PROCESSES (``declared``: the only way to know about
    other app servers), WEB_CONCURRENCY (the worker count gunicorn and hosting platforms
    take from the environment) and the workers of the gunicorn loading this app, whichever
    way it was told (-w, a config file, GUNICORN_CMD_ARGS); 1 when none says more.
    """
    counts = [(1, "one process")]
    if declared:
        counts.append((declared, f"APP_PROCESSES={declared}"))
    concurrency = os.environ.get("WEB_CONCURRENCY", "").strip()
    if concurrency.isdigit():
        counts.append((int(concurrency), f"WEB_CONCURRENCY={concurrency}"))
    workers = _gunicorn_workers()
    if workers:
        counts.append((workers, f"gunicorn with {workers} workers"))
    return max(counts, key=lambda count: count[0])


def _gunicorn_workers() -> int | None:
    """The worker count of the gunicorn application loading this app, or None outside one.

    Gunicorn loads the app through its application object's ``wsgi()``, in each worker (or
    once in the master with --preload), so that object is on the calling stack, holding the
    configuration gunicorn resolved from all its sources; gunicorn keeps no global for it.
    """
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        return None
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        loader = frame.f_locals.get("self")
        if isinstance(loader, BaseApplication):
            return int(loader.cfg.workers)
        frame = frame.f_back
    return None


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
