"""BM25 over pre-normalised tokens (bm25s, Lucene variant), plus query-term coverage."""

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
        df = Counter(token for doc in corpus_tokens for token in set(doc))
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

    def coverage(self, query_tokens: list[str]) -> float:
        """IDF-weighted share of the query's tokens that occur in the corpus at all.

        A query whose rarest words are unknown to this corpus (テレワーク asked of the
        resident FAQ) gets a low coverage, so a lone common word cannot make a match.
        """
        if not query_tokens:
            return 0.0
        unseen = self.idf(1)
        total = sum(self._idf.get(t, unseen) for t in query_tokens)
        known = sum(self._idf[t] for t in query_tokens if t in self._idf)
        return known / total if total > 0 else 0.0
