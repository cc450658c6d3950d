"""Small stand-ins for the expensive parts, used by unit tests only."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np


class FakeEncoder:
    """Deterministic character-bigram hashing encoder (no model, instant)."""

    model_id = "fake-bigram-64"
    dim = 64

    def __init__(self):
        self.texts_encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        text = unicodedata.normalize("NFKC", text)
        vector = np.zeros(self.dim, np.float32)
        for i in range(len(text) - 1):
            h = int(hashlib.md5(text[i:i + 2].encode()).hexdigest()[:8], 16)
            vector[h % self.dim] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def encode_queries(self, texts):
        self.texts_encoded += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts):
        return self.encode_queries(texts)


class FakeRasa:
    """Records what the gateway sends and replies like Rasa's REST channel."""

    def __init__(self, replies=None, fail=False):
        self.calls = []
        self.replies = replies if replies is not None else [{"recipient_id": "x", "text": "こんにちは。"}]
        self.fail = fail

    def send(self, sender, message, metadata):
        from bot.rasa_client import RasaUnavailableError

        self.calls.append({"sender": sender, "message": message, "metadata": metadata})
        if self.fail:
            raise RasaUnavailableError("down")
        return self.replies

    def healthy(self):
        return not self.fail
