"""BM25 over pre-normalised tokens (bm25s, Lucene variant), plus per-document query-term coverage."""

from __future__ import annotations

import math
from collections import Counter

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
        self._doc_sets = [frozenset(doc) for doc in corpus_tokens]
        df = Counter(token for doc in self._doc_sets for token in doc)
        self._idf = {t: self.idf(n) for t, n in df.items()}
        if self.size and df:
            self._retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
            self._retriever.index([list(t) or [""] for t in corpus_tokens], show_progress=False)
            self._vocab = self._retriever.vocab_dict

    def idf(self, df: int) -> float:
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        if self._retriever is None:
            return np.zeros(self.size, np.float32)
        known = [t for t in query_tokens if t in self._vocab]
        if not known:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def doc_coverage(self, query_tokens: list[str], doc_ids) -> np.ndarray:
        """IDF-weighted share of the query's tokens found in each given document."""
        unseen = self.idf(1)
        weights = {t: self._idf.get(t, unseen) for t in set(query_tokens)}
        total = sum(weights.values())
        if total <= 0:
            return np.zeros(len(doc_ids), np.float32)
        return np.asarray([sum(w for t, w in weights.items() if t in self._doc_sets[int(d)]) / total
                           for d in doc_ids], dtype=np.float32)
