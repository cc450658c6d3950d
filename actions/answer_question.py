"""Answering questions from the FAQ — or, when no FAQ is confident, from a confident
passage of the crawled city homepage — and answering a chosen candidate by id.

Every reply is one ``custom`` message ``{"text", "tier", "faq_id"? | "page_id"?, "link"?, "buttons"?}``
so the gateway receives the answer in one piece (Rasa's REST channel would split
plain text at blank lines). A failure becomes a polite response, never a traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.context import audience_of, response_text
from retrieval.fusion import ANSWER, SUGGEST
from retrieval.index import FaqIndex, SearchHit
from retrieval.pages import PAGE_PREFIX, first_hit_per_page, snippet

log = logging.getLogger(__name__)
MAX_CANDIDATES = 3
PAGE = "page"


def _answer_message(entry_id: str, text: str, url: str, title: str, score: float | None) -> dict:
    message: dict[str, Any] = {"text": text, "tier": ANSWER, "faq_id": entry_id}
    if url:
        message["link"] = {"url": url, "title": title}
    if score is not None:
        message["score"] = round(score, 4)
    return message


def choose_payload(faq_id: str) -> str:
    return "/choose_faq" + json.dumps({"faq_id": faq_id}, ensure_ascii=False)


def _suggest_message(domain: dict, hits: list[SearchHit]) -> dict:
    seen, buttons = set(), []
    for hit in hits:
        if hit.question in seen:
            continue
        seen.add(hit.question)
        buttons.append({"title": hit.question, "payload": choose_payload(hit.faq_id)})
        if len(buttons) == MAX_CANDIDATES:
            break
    return {
        "text": response_text(domain, "utter_suggest"),
        "tier": SUGGEST,
        "buttons": buttons,
    }


def _page_message(domain: dict, hit: SearchHit) -> dict:
    """A confident homepage passage: page title, a short snippet and the link."""
    title = hit.question.split(" > ")[0]
    text = response_text(domain, "utter_page").format(title=title, snippet=snippet(hit.answer))
    return {"text": text, "tier": PAGE, "page_id": hit.faq_id.removeprefix(PAGE_PREFIX),
            "link": {"url": hit.url, "title": title}, "score": round(hit.score, 4)}


def _confident_page(audience: str, query: str) -> SearchHit | None:
    """The best passage of the audience's crawled pages, if that index exists and is confident."""
    registry = context.registry()
    if not registry.has(audience, "pages"):
        return None
    index = registry.get(audience, "pages")
    pages = first_hit_per_page(index.search(query, k=10).hits)
    # the lead that makes an answer confident is over the best *other page*, not over
    # another passage of the same page
    return pages[0] if pages and index.tier(pages, query) == ANSWER else None


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        audience = audience_of(tracker)
        query = (tracker.latest_message or {}).get("text") or ""
        page = None
        try:
            index: FaqIndex = context.registry().get(audience)
            result = index.search(query, k=5)
            if result.tier != ANSWER:  # a confident FAQ always wins; otherwise try the homepage
                page = _confident_page(audience, query)
        except Exception:
            log.exception("search failed for audience %s", audience)
            dispatcher.utter_message(json_message={"text": response_text(domain, "utter_error"), "tier": "error"})
            return []
        if result.tier == ANSWER:
            top = result.hits[0]
            message = _answer_message(top.faq_id, top.answer, top.url, top.question, top.score)
        elif page is not None:
            message = _page_message(domain, page)
        elif result.tier == SUGGEST:
            message = _suggest_message(domain, result.hits)
        else:
            message = {"text": response_text(domain, "utter_unknown"), "tier": "unknown"}
        message["audience"] = audience
        dispatcher.utter_message(json_message=message)
        return []


class ActionAnswerFaq(Action):
    """Answers the FAQ a resident picked from もしかして; the id is looked up in their own audience's index."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        audience = audience_of(tracker)
        faq_id = next(tracker.get_latest_entity_values("faq_id"), None)
        try:
            entry = context.registry().get(audience).get(str(faq_id)) if faq_id else None
        except Exception:
            log.exception("lookup failed for audience %s", audience)
            entry = None
        if entry is None:
            dispatcher.utter_message(json_message={"text": response_text(domain, "utter_unknown"), "tier": "unknown", "audience": audience})
            return []
        message = _answer_message(entry.faq_id, entry.answer, entry.url, entry.question, None)
        message["audience"] = audience
        dispatcher.utter_message(json_message=message)
        return []
