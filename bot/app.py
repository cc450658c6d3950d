"""Application factory: ``create_app(test_config=None)`` wires settings, security, stores and blueprints."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask

from bot.rasa_client import RasaClient
from bot.settings import load_settings, resolve


def _secret_key(configured: str) -> str:
    if configured:
        return configured
    path = resolve("var/secret_key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _database_url(url: str) -> str:
    """Relative SQLite paths are relative to the repository root, like every other path setting."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(resolve(url[len(prefix):]))
    return url


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = load_settings(test_config)
    app = Flask(__name__, static_folder=None, template_folder="templates")
    app.config.update(settings)
    app.config["SECRET_KEY"] = _secret_key(settings["SECRET_KEY"])
    app.config.update(MAX_CONTENT_LENGTH=16 * 1024, JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    app.extensions["rasa"] = (test_config or {}).get("RASA_CLIENT") or RasaClient(
        settings["RASA_URL"], settings["RASA_TIMEOUT"], settings["RASA_RETRY_SECONDS"]
    )

    from bot.accounts import StaffStore
    from bot.convlog import ConversationLog
    from bot.security import install

    install(app)
    app.extensions["convlog"] = ConversationLog(_database_url(settings["LOG_DB"]), salt=app.config["SECRET_KEY"])
    app.extensions["staff"] = StaffStore(_database_url(settings["STAFF_DB"]))

    from bot import admin, apidocs, chat, health, site, staff

    app.register_blueprint(apidocs.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(site.bp)
    return app
