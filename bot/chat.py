"""Chat API for the widget: ``POST /api/chat`` and ``POST /api/reset``.

The gateway owns the conversation identity (a random id in the signed session
cookie) and the audience (resident here; staff only after login, see the staff
blueprint). Text that Rasa would parse as an intent (a leading ``/``) is
neutralised. Buttons reach the browser as opaque choice ids; the Rasa payload
behind each id stays in the session, so only choices actually offered can be sent.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, jsonify, request, session

from bot.rasa_client import RasaUnavailableError

bp = Blueprint("chat", __name__, url_prefix="/api")

ERROR_TOO_LONG = "メッセージが長すぎます。{limit}文字以内で入力してください。"
ERROR_EMPTY = "メッセージを入力してください。"
ERROR_BAD_REQUEST = "リクエストの形式が正しくありません。"
ERROR_UNKNOWN_CHOICE = "この選択肢は有効期限が切れました。もう一度ご質問ください。"
ERROR_UNAVAILABLE = "申し訳ありません。ただいまチャットボットが応答できません。時間をおいてもう一度お試しください。"


def neutralize(text: str) -> str:
    """Make sure user text is never read by Rasa as ``/intent{...}``."""
    text = text.strip()
    if text.startswith("/"):
        text = "／" + text.lstrip("/")
    return text


def sender_id() -> str:
    if "sid" not in session:
        session["sid"] = uuid.uuid4().hex
    return session["sid"]


def _link(url: str) -> str | None:
    """Only http(s) links leave the gateway; the sample homepage is served locally."""
    origin = current_app.config["SITE_ORIGIN"].rstrip("/")
    if current_app.config["SAMPLE_SITE_DIR"] and origin and url.startswith(origin + "/"):
        return url[len(origin):]
    return url if url.startswith(("https://", "http://")) else None


def to_widget_messages(replies: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rasa REST replies → widget messages, plus the choice-id → payload map offered."""
    messages, choices = [], {}
    for reply in replies:
        body = reply.get("custom") if isinstance(reply.get("custom"), dict) else reply
        text = body.get("text")
        if not isinstance(text, str) or not text:
            continue
        message: dict[str, Any] = {"text": text}
        for key in ("tier", "faq_id", "page_id"):
            if isinstance(body.get(key), str):
                message[key] = body[key]
        link = body.get("link")
        if isinstance(link, dict) and isinstance(link.get("url"), str) and (url := _link(link["url"])):
            message["link"] = {"url": url, "title": str(link.get("title") or "")}
        buttons = []
        for button in body.get("buttons") or []:
            payload = button.get("payload")
            if isinstance(payload, str) and button.get("title"):
                choice = f"c{len(choices) + 1}"
                choices[choice] = payload
                buttons.append({"title": str(button["title"]), "choice": choice})
        if buttons:
            message["buttons"] = buttons
        messages.append(message)
    return messages, choices


def converse(audience: str):
    """Handle one chat request for ``audience`` (decided by the caller, never by the request)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error=ERROR_BAD_REQUEST), 400
    if "choice" in data:
        choice = data["choice"]
        offered = session.get("choices") or {}
        if not isinstance(choice, str) or choice not in offered:
            return jsonify(error=ERROR_UNKNOWN_CHOICE), 400
        text = offered[choice]
    else:
        message = data.get("message")
        if not isinstance(message, str):
            return jsonify(error=ERROR_BAD_REQUEST), 400
        limit = current_app.config["MAX_MESSAGE_CHARS"]
        if len(message) > limit:
            return jsonify(error=ERROR_TOO_LONG.format(limit=limit)), 400
        text = neutralize(message)
        if not text:
            return jsonify(error=ERROR_EMPTY), 400
    try:
        replies = current_app.extensions["rasa"].send(sender_id(), text, {"audience": audience})
    except RasaUnavailableError:
        current_app.logger.exception("Rasa unavailable")
        return jsonify(error=ERROR_UNAVAILABLE), 503
    messages, choices = to_widget_messages(replies)
    session["choices"] = choices
    return jsonify(messages=messages)


@bp.post("/chat")
def chat():
    return converse("resident")


@bp.post("/reset")
def reset():
    session.clear()
    return jsonify(ok=True)
