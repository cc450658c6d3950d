"""Score fusion and confidence tiers: pure functions over numpy arrays.

Signals per candidate FAQ: ``q`` (best cosine of the query to the question or an
alternative question), ``a`` (best cosine to an answer passage) and ``b`` (BM25
over normalised tokens, scaled to [0, 1] by the query's best BM25 score).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

ANSWER, SUGGEST, UNKNOWN = "answer", "suggest", "unknown"


@dataclass(frozen=True)
class FusionWeights:
    question: float = 0.55
    answer: float = 0.20
    bm25: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TierThresholds:
    """``answer`` needs a fused score ≥ ``answer`` and a lead ≥ ``margin`` over the runner-up."""

    answer: float = 0.80
    margin: float = 0.03
    suggest: float = 0.72

    def to_dict(self) -> dict:
        return asdict(self)


def scale_bm25(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    if top <= 0.0:
        return np.zeros_like(scores, dtype=np.float32)
    return (scores / top).astype(np.float32)


def fuse(q: np.ndarray, a: np.ndarray, b_scaled: np.ndarray, weights: FusionWeights) -> np.ndarray:
    return (weights.question * q + weights.answer * a + weights.bm25 * b_scaled).astype(np.float32)


def answer_tier(scores: list[float], thresholds: TierThresholds) -> str:
    """Tier for a ranked score list (best first)."""
    if not scores:
        return UNKNOWN
    top = scores[0]
    lead = top - scores[1] if len(scores) > 1 else top
    if top >= thresholds.answer and lead >= thresholds.margin:
        return ANSWER
    if top >= thresholds.suggest:
        return SUGGEST
    return UNKNOWN
