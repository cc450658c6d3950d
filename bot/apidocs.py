"""``GET /api/openapi.yaml``: the OpenAPI 3.1 description of the gateway's JSON API.

The description is a hand-written file next to this module (``bot/openapi.yaml``); a unit
test checks it against the app's routes and fuzzes the app with it, so it cannot drift.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_file

bp = Blueprint("apidocs", __name__)

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
CONTENT_TYPE = "application/yaml; charset=utf-8"


@bp.get("/api/openapi.yaml")
def openapi():
    response = send_file(SPEC_PATH, mimetype="application/yaml", conditional=True, etag=True, max_age=300)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
