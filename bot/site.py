"""Serves the chat widget (``/widget/…``) and, for the demo, the sample city homepage (``/``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, send_from_directory

from bot.settings import resolve

bp = Blueprint("site", __name__)


@bp.get("/widget/<path:filename>")
def widget(filename: str):
    response = send_from_directory(resolve(current_app.config["WIDGET_DIR"]), filename, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/", defaults={"path": "index.html"})
@bp.get("/<path:path>")
def sample_site(path: str):
    root = current_app.config["SAMPLE_SITE_DIR"]
    if not root:
        abort(404)
    if path.endswith("/"):
        path += "index.html"
    return send_from_directory(resolve(root), path)
