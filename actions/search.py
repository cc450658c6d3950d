"""Search as a reply: the audience's FAQ first, then a confident passage of its crawled
homepage; otherwise もしかして candidates (with 「どれにも当てはまらない」) or 「分かりません」.

Answers set the conversation topic (slot ``topic``) and reset the failure count;
「分かりません」 raises it, and from the second failure in a row the reply hands over to
a person (contact with office hours). A failure inside retrieval becomes a polite
response, never a traceback.
"""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.contact import contact_text
from actions.context import audience_of, response_text
from actions.replies import button, feedback_buttons, link, send
from retrieval.faq import FaqEntry
from retrieval.fusion import ANSWER, SUGGEST
from retrieval.index import SearchHit, SearchResult
from retrieval.pages import PAGE_PREFIX, first_hit_per_page, snippet

log = logging.getLogger(__name__)
MAX_CANDIDATES = 3
PAGE = "page"
HANDOFF_AFTER = 2  # failures in a row before the bot offers a person


def send_faq(dispatcher: CollectingDispatcher, tracker: Tracker, entry: FaqEntry,
             score: float | None = None) -> list:
    ref = f"faq:{entry.faq_id}"
    send(dispatcher, tracker, entry.answer, ANSWER, link=link(entry.url, entry.question),
         buttons=feedback_buttons(ref), faq_id=entry.faq_id, ref=ref,
         score=round(score, 4) if score is not None else None)
    return [SlotSet("topic", ref), SlotSet("failures", 0.0)]


def _send_page(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict, hit: SearchHit) -> list:
    """A confident homepage passage: page title, a short snippet and the link."""
    title = hit.question.split(" > ")[0]
    page_id = hit.faq_id.removeprefix(PAGE_PREFIX)
    text = response_text(domain, "utter_page").format(title=title, snippet=snippet(hit.answer))
    ref = f"page:{page_id}"
    send(dispatcher, tracker, text, PAGE, link=link(hit.url, title), buttons=feedback_buttons(ref),
         page_id=page_id, ref=ref, score=round(hit.score, 4))
    return [SlotSet("topic", ref), SlotSet("failures", 0.0)]


def _send_suggestions(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict,
                      hits: list[SearchHit]) -> list:
    seen, buttons = set(), []
    for hit in hits:
        if hit.question not in seen:
            seen.add(hit.question)
            buttons.append(button(hit.question, "choose_faq", faq_id=hit.faq_id))
        if len(buttons) == MAX_CANDIDATES:
            break
    buttons.append(button(response_text(domain, "utter_none_of_these_button"), "none_of_these", kind="none"))
    send(dispatcher, tracker, response_text(domain, "utter_suggest"), SUGGEST, buttons=buttons)
    return []


def send_failure(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict, response: str,
                 tier: str = "unknown") -> list:
    """「分かりません」, and from the second failure in a row the contact of a person."""
    failures = float(tracker.get_slot("failures") or 0) + 1
    text = response_text(domain, response)
    if failures >= HANDOFF_AFTER:
        text += "\n" + response_text(domain, "utter_handoff_after_failures") + "\n" + \
            contact_text(context.departments().get(None))
    send(dispatcher, tracker, text, tier, unanswered=True)
    return [SlotSet("failures", failures)]


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


def answer_by_search(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict, query: str,
                     result: SearchResult | None = None) -> list:
    """Search the audience's FAQ (unless ``result`` is that search already), then its pages;
    answer, offer candidates or say so."""
    audience = audience_of(tracker)
    page = None
    try:
        result = result or context.registry().get(audience).search(query, k=5)
        if result.tier != ANSWER:  # a confident FAQ always wins; otherwise try the homepage
            page = _confident_page(audience, query)
    except Exception:
        log.exception("search failed for audience %s", audience)
        send(dispatcher, tracker, response_text(domain, "utter_error"), "error")
        return []
    if result.tier == ANSWER:
        top = result.hits[0]
        return send_faq(dispatcher, tracker, context.registry().get(audience).get(top.faq_id), top.score)
    if page is not None:
        return _send_page(dispatcher, tracker, domain, page)
    if result.tier == SUGGEST:
        return _send_suggestions(dispatcher, tracker, domain, result.hits)
    return send_failure(dispatcher, tracker, domain, "utter_unknown")
