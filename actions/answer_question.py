"""The question actions: a typed question (search, or a follow-up on the garbage-day
topic), a candidate chosen from もしかして by its id, and 「どれにも当てはまらない」."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.contact import contact_text
from actions.context import audience_of, response_text, text_of
from actions.garbage import garbage_day_follow_up
from actions.replies import send
from actions.search import answer_by_search, send_faq

log = logging.getLogger(__name__)


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        text = text_of(tracker)
        follow_up = garbage_day_follow_up(dispatcher, tracker, domain, text)
        if follow_up is not None:
            return follow_up
        return answer_by_search(dispatcher, tracker, domain, text)


class ActionAnswerFaq(Action):
    """Answers the FAQ a resident picked from a list; the id is looked up in their own audience's index."""

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
            send(dispatcher, tracker, response_text(domain, "utter_unknown"), "unknown")
            return []
        return send_faq(dispatcher, tracker, entry)


class ActionNoneOfThese(Action):
    """「どれにも当てはまらない」: say so, give the contact; the gateway queues the question as unanswered."""

    def name(self) -> str:
        return "action_none_of_these"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        failures = float(tracker.get_slot("failures") or 0) + 1
        text = response_text(domain, "utter_none_of_these") + "\n" + contact_text(context.departments().get(None))
        send(dispatcher, tracker, text, "unknown", unanswered=True)
        return [SlotSet("failures", failures)]
