"""Rasa SDK custom actions (run by ``python -m rasa_sdk --actions actions`` on Python 3.11).

One module per capability. Actions are thin: they read the audience from the
message metadata set by the gateway, call :mod:`retrieval`, and turn results into
messages. They never import the gateway (``bot``) or Rasa itself.
"""

from actions.answer_question import ActionAnswerFaq, ActionAnswerQuestion

__all__ = ["ActionAnswerQuestion", "ActionAnswerFaq"]
