"""役に立った / 役に立たなかった. The gateway records the choice against the answered turn;
this action only replies — thanks, or an offer to rephrase or to contact the department."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import response_text
from actions.replies import button, send


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        helpful = next(tracker.get_latest_entity_values("helpful"), None) == "yes"
        if helpful:
            send(dispatcher, tracker, response_text(domain, "utter_feedback_thanks"), "feedback")
        else:
            send(dispatcher, tracker, response_text(domain, "utter_feedback_sorry"), "feedback",
                 buttons=[button(response_text(domain, "utter_contact_button"), "request_human", kind="handoff")])
        return []
