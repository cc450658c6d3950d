"""Rasa SDK custom actions (run by ``python -m rasa_sdk --actions actions`` on Python 3.11).

One module per capability. Actions are thin: they read the audience from the
message metadata set by the gateway, call :mod:`retrieval`, and turn results into
messages. They never import the gateway (``bot``) or Rasa itself.
"""

import os

from actions.answer_question import ActionAnswerFaq, ActionAnswerQuestion
from actions.context import warm_up

if os.environ.get("CITYBOT_WARMUP") == "1":
    warm_up()

__all__ = ["ActionAnswerQuestion", "ActionAnswerFaq"]
