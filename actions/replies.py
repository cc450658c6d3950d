"""How actions speak: one ``custom`` message per reply, with quick-reply buttons.

Every reply is ``{"text", "tier", "audience", "intent", ...}``; buttons carry a Rasa
payload that the gateway keeps server-side and replaces with an opaque choice id.
Answers carry the feedback buttons 役に立った / 役に立たなかった and a ``ref`` naming
what was answered (``faq:R-0001``, ``page:…``, ``procedure:jidoteate``, ``garbage:…``).
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import audience_of, intent_of

FEEDBACK = "feedback"
HELPFUL_TITLE = "役に立った"
NOT_HELPFUL_TITLE = "役に立たなかった"


def payload(intent: str, **entities: str) -> str:
    """A Rasa payload ``/intent{"entity": "value"}`` (only ever produced by actions)."""
    return f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")


def button(title: str, intent: str, kind: str | None = None, **entities: str) -> dict[str, str]:
    result = {"title": title, "payload": payload(intent, **entities)}
    if kind:
        result["kind"] = kind
    return result


def feedback_buttons(ref: str) -> list[dict[str, str]]:
    return [button(HELPFUL_TITLE, FEEDBACK, FEEDBACK, helpful="yes", ref=ref),
            button(NOT_HELPFUL_TITLE, FEEDBACK, FEEDBACK, helpful="no", ref=ref)]


def link(url: str, title: str) -> dict[str, str] | None:
    return {"url": url, "title": title} if url else None


def send(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, tier: str, *,
         buttons: list[dict[str, str]] | None = None, link: dict[str, str] | None = None,
         **fields: Any) -> dict[str, Any]:
    """Utter one reply; ``fields`` adds e.g. ``faq_id``, ``page_id``, ``ref``, ``score``."""
    message: dict[str, Any] = {"text": text, "tier": tier, "audience": audience_of(tracker)}
    intent = intent_of(tracker)
    if intent:
        message["intent"] = intent
    if link:
        message["link"] = link
    if buttons:
        message["buttons"] = buttons
    message.update({k: v for k, v in fields.items() if v is not None})
    dispatcher.utter_message(json_message=message)
    return message
