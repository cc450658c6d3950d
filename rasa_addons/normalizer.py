"""Rasa NLU component applying citybot's shared text normaliser before tokenisation.

Uses :func:`retrieval.textnorm.normalize_text`, the same function the retrieval
index applies to documents and queries, so NLU, indexing and querying agree on
ゴミ/ごみ, マイナカード/マイナンバーカード, full-width digits and the like.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from retrieval.textnorm import TEXTNORM_FINGERPRINT, normalize_text


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class CitybotTextNormalizer(GraphComponent):
    """Rewrites each message's text with the shared normaliser."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"fingerprint": TEXTNORM_FINGERPRINT}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CitybotTextNormalizer":
        return cls()

    def _apply(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if text and not text.startswith("/"):
                message.set(TEXT, normalize_text(text))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._apply(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        return self._apply(messages)
