"""Rasa SDK custom actions (run by ``python -m rasa_sdk --actions actions`` on Python 3.11).

One module per capability. Actions are thin: they read the audience from the
message metadata set by the gateway, call :mod:`retrieval`, and turn results into
messages (:mod:`actions.replies`). They never import the gateway (``bot``) or Rasa itself.
"""

import os

from actions.answer_question import ActionAnswerFaq, ActionAnswerQuestion, ActionNoneOfThese
from actions.contact import ActionHandoff
from actions.context import warm_up
from actions.feedback import ActionFeedback
from actions.garbage import ActionGarbageDay, ActionGarbageSorting, ActionValidateSlotMappings
from actions.menu import ActionChooseCategory, ActionMenu
from actions.procedures import ActionFollowUp, ActionProcedure

if os.environ.get("CITYBOT_WARMUP") == "1":
    warm_up()

__all__ = [
    "ActionAnswerQuestion", "ActionAnswerFaq", "ActionNoneOfThese", "ActionHandoff", "ActionFeedback",
    "ActionGarbageDay", "ActionGarbageSorting", "ActionValidateSlotMappings", "ActionMenu",
    "ActionChooseCategory", "ActionFollowUp", "ActionProcedure",
]
