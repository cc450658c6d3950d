"""``GET /healthz``: the state of each component, for the launcher and monitoring."""

from __future__ import annotations

import requests
from flask import Blueprint, current_app, jsonify

from bot.settings import resolve

bp = Blueprint("health", __name__)


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@bp.get("/healthz")
def healthz():
    config = current_app.config
    components = {
        "gateway": True,
        "rasa": current_app.extensions["rasa"].healthy(),
        "action_server": _http_ok(config["ACTION_SERVER_URL"].rstrip("/") + "/health"),
        "index_resident": (resolve(config["INDEX_ROOT"]) / "resident" / "manifest.json").exists(),
    }
    healthy = all(components.values())
    return jsonify(status="ok" if healthy else "degraded", components=components), (200 if healthy else 503)


@bp.get("/livez")
def livez():
    """Liveness of the gateway process alone."""
    return jsonify(status="ok")
