"""Chat API for the widget: ``POST /api/chat`` and ``POST /api/reset``.

The gateway owns the conversation identity (a random id in the signed session
cookie) and the audience (resident here; staff only after login, see the staff
blueprint). Text that Rasa would parse as an intent (a leading ``/``) is
neutralised. Buttons reach the browser as opaque choice ids; the Rasa payload
behind each id stays in the session, so only choices actually offered can be sent.

Every turn is written to the conversation log (masked): feedback buttons are recorded
against the answer they were offered with, and 「分かりません」 / 「どれにも当てはまらない」
put the question on the unanswered queue.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify, request, session

from bot.convlog import TIERS
from bot.rasa_client import RasaUnavailableError
from bot.security import ERROR_ORIGIN, csrf, limiter, same_origin_or_allowed, session_key

bp = Blueprint("chat", __name__, url_prefix="/api")

ERROR_TOO_LONG = "メッセージが長すぎます。{limit}文字以内で入力してください。"
ERROR_EMPTY = "メッセージを入力してください。"
ERROR_BAD_REQUEST = "リクエストの形式が正しくありません。"
ERROR_UNKNOWN_CHOICE = "この選択肢は有効期限が切れました。もう一度ご質問ください。"
ERROR_UNAVAILABLE = "申し訳ありません。ただいまチャットボットが応答できません。時間をおいてもう一度お試しください。"
#: Rasa answered but produced nothing (its action server is down or overloaded)
MESSAGE_BUSY = ("ただいま混み合っています。少し時間をおいてから、もう一度お試しください。"
                "お急ぎの場合は、習志野市役所 代表電話 000-000-0000（サンプル）までお問い合わせください。")
BUTTON_KINDS = ("feedback", "none", "menu", "follow_up", "handoff")
MAX_LINKS = 2
#: characters that make parsers disagree about a URL's host (backslashes, controls, spaces)
URL_FORBIDDEN = re.compile(r"[\\\x00-\x20\x7f]")


def neutralize(text: str) -> str:
    """Make sure user text is never read by Rasa as ``/intent{...}``."""
    text = text.strip()
    if text.startswith("/"):
        text = "／" + text.lstrip("/")
    return text


def sender_id(audience: str) -> str:
    """The Rasa conversation: one per browser session *and* audience, so a staff
    conversation's slots (its topic) never carry into a resident one."""
    if "sid" not in session:
        session["sid"] = uuid.uuid4().hex
    return f"{session['sid']}-{audience}"


def _hosts(setting: str) -> set[str]:
    return {h.strip().lower() for h in current_app.config[setting].split(",") if h.strip()}


def _link(url: str, audience: str) -> str | None:
    """Only http(s) links to allow-listed hosts leave the gateway (staff also get internal
    hosts); the sample homepage is served locally."""
    if URL_FORBIDDEN.search(url):
        return None
    origin = current_app.config["SITE_ORIGIN"].rstrip("/")
    if current_app.config["SAMPLE_SITE_DIR"] and origin and url.startswith(origin + "/"):
        path = url[len(origin):]
        return None if path.startswith("//") else path  # "//host" would leave the site
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    allowed = _hosts("LINK_DOMAINS") | {urlsplit(origin).hostname or ""}
    if audience == "staff":
        allowed |= _hosts("STAFF_LINK_DOMAINS")
    return url if parts.hostname.lower() in allowed else None


def _clean_link(link: Any, audience: str) -> dict[str, str] | None:
    if isinstance(link, dict) and isinstance(link.get("url"), str) and (url := _link(link["url"], audience)):
        return {"url": url, "title": str(link.get("title") or "")}
    return None


def _body(reply: dict) -> dict:
    """A reply's message: the ``custom`` payload of our actions, or the plain REST message."""
    return reply["custom"] if isinstance(reply.get("custom"), dict) else reply


def _dicts(value: Any) -> list[dict]:
    """Only the dict items of a list (Rasa replies are checked, never trusted)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def to_widget_messages(replies: list[dict[str, Any]], audience: str = "resident"
                       ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rasa REST replies → widget messages, plus the choice-id → payload map offered."""
    messages, choices = [], {}
    for reply in _dicts(replies):
        body = _body(reply)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            continue
        message: dict[str, Any] = {"text": text}
        for key in ("tier", "faq_id", "page_id"):
            if isinstance(body.get(key), str):
                message[key] = body[key]
        if link := _clean_link(body.get("link"), audience):
            message["link"] = link
        more = [lk for lk in (_clean_link(x, audience) for x in _dicts(body.get("links"))) if lk][:MAX_LINKS - 1]
        if more:
            message["links"] = more
        buttons = []
        for button in _dicts(body.get("buttons")):
            payload = button.get("payload")
            if isinstance(payload, str) and button.get("title"):
                choice = f"c{len(choices) + 1}"
                choices[choice] = payload
                item = {"title": str(button["title"]), "choice": choice}
                if button.get("kind") in BUTTON_KINDS:
                    item["kind"] = button["kind"]
                buttons.append(item)
        if buttons:
            message["buttons"] = buttons
        messages.append(message)
    return messages, choices


def _main_reply(replies: list[dict[str, Any]]) -> dict[str, Any]:
    """The reply that carries the turn's outcome (tier, ids) for the log."""
    bodies = [_body(r) for r in _dicts(replies)]
    return next((b for b in bodies if b.get("tier") and b.get("tier") != "scripted"), None) or \
        next((b for b in bodies if b.get("tier")), {})


def _payload_entities(payload: str) -> dict[str, Any]:
    start = payload.find("{")
    try:
        value = json.loads(payload[start:]) if start >= 0 else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def converse(audience: str):
    """Handle one chat request for ``audience`` (decided by the caller, never by the request)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error=ERROR_BAD_REQUEST), 400
    offered = (session.get("offered") or {}).get(audience) or {}
    chosen = None
    if "choice" in data:
        choice = data["choice"]
        if not isinstance(choice, str) or choice not in offered:
            return jsonify(error=ERROR_UNKNOWN_CHOICE), 400
        chosen = offered[choice]
        text, log_text = chosen["payload"], chosen["title"]
    else:
        message = data.get("message")
        if not isinstance(message, str):
            return jsonify(error=ERROR_BAD_REQUEST), 400
        limit = current_app.config["MAX_MESSAGE_CHARS"]
        if len(message) > limit:
            return jsonify(error=ERROR_TOO_LONG.format(limit=limit)), 400
        text = log_text = neutralize(message)
        if not text:
            return jsonify(error=ERROR_EMPTY), 400
    started = time.perf_counter()
    try:
        replies = current_app.extensions["rasa"].send(sender_id(audience), text, {"audience": audience})
    except RasaUnavailableError:
        current_app.logger.exception("Rasa unavailable")
        return jsonify(error=ERROR_UNAVAILABLE), 503
    latency_ms = int((time.perf_counter() - started) * 1000)
    if not _dicts(replies):
        current_app.logger.error("Rasa returned no reply (action server down?)")
        replies = [{"custom": {"text": MESSAGE_BUSY, "tier": "error"}}]
    messages, choices = to_widget_messages(replies, audience)
    g.chat_messages = messages
    turn_id = _log_turn(audience, log_text, chosen, replies, latency_ms)
    titles = {b["choice"]: b["title"] for m in messages for b in m.get("buttons", [])}
    # each choice remembers the turn that offered it: the answer a feedback button rates,
    # the question whose candidates 「どれにも当てはまらない」 rejects
    session["offered"] = {**(session.get("offered") or {}), audience: {
        c: {"payload": p, "title": titles.get(c, ""), "turn": turn_id} for c, p in choices.items()}}
    return jsonify(messages=messages)


def _log_turn(audience: str, log_text: str, chosen: dict | None, replies: list[dict[str, Any]],
              latency_ms: int) -> int | None:
    """Write the turn (masked) and what it implies: feedback, unanswered questions."""
    log = current_app.extensions.get("convlog")
    if log is None:
        return None
    main = _main_reply(replies)
    score = main.get("score")
    turn_id = log.record_turn(
        session["sid"], audience, log_text, kind="choice" if chosen else "message",
        intent=main.get("intent") if isinstance(main.get("intent"), str) else None,
        tier=main.get("tier") if main.get("tier") in TIERS else None,
        faq_id=main.get("faq_id") if isinstance(main.get("faq_id"), str) else None,
        page_id=main.get("page_id") if isinstance(main.get("page_id"), str) else None,
        score=float(score) if isinstance(score, int | float) else None, latency_ms=latency_ms,
    )
    if chosen is None:
        if main.get("unanswered"):
            log.record_unanswered(turn_id, audience, log_text, "unknown")
        return turn_id
    payload = chosen["payload"]
    if payload.startswith("/feedback") and chosen.get("turn"):
        log.record_feedback(chosen["turn"], audience, _payload_entities(payload).get("helpful") == "yes")
    elif payload.startswith("/none_of_these") and chosen.get("turn"):
        log.record_unanswered_turn(chosen["turn"], audience, "none_of_these")
    return turn_id


csrf.exempt(bp)  # a JSON API: cross-site posts are refused by the Origin check below instead


@bp.before_request
def _same_site_only():
    if request.method == "POST" and not same_origin_or_allowed():
        return jsonify(error=ERROR_ORIGIN), 403
    return None


def chat_limits(view):
    """Per-conversation and per-address rate limits (settings RATE_LIMIT_SESSION / RATE_LIMIT_IP)."""
    view = limiter.limit(lambda: current_app.config["RATE_LIMIT_SESSION"], key_func=session_key)(view)
    return limiter.limit(lambda: current_app.config["RATE_LIMIT_IP"])(view)


@bp.post("/chat")
@chat_limits
def chat():
    return converse("resident")


@bp.post("/reset")
def reset():
    """A new resident conversation (a staff login and its CSRF token in the same browser are kept)."""
    kept = {key: session[key] for key in ("staff", "csrf_token") if key in session}
    session.clear()
    session.update(kept)
    return jsonify(ok=True)
