"""BM25 over pre-normalised tokens (bm25s, Lucene variant)."""

from __future__ import annotations

import numpy as np


class Bm25Index:
    """Scores every document for a token list; documents are token lists."""

    def __init__(self, corpus_tokens: list[list[str]], k1: float = 1.2, b: float = 0.75):
        try:
            import bm25s
        except ImportError:
            raise ImportError("pip install bm25s") from None
        self.size = len(corpus_tokens)
        self._retriever = None
        if self.size and any(corpus_tokens):
            self._retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
            self._retriever.index([list(t) or [""] for t in corpus_tokens], show_progress=False)
            self._vocab = self._retriever.vocab_dict

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        if self._retriever is None:
            return np.zeros(self.size, np.float32)
        known = [t for t in query_tokens if t in self._vocab]
        if not known:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)
