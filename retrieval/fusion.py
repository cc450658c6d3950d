"""Score fusion and confidence tiers: pure functions over numpy arrays.

Signals per candidate FAQ: ``q`` (best cosine of the query to the question or an
alternative question), ``a`` (best cosine to an answer passage), ``b`` (BM25
over normalised tokens, scaled to [0, 1] by the query's best BM25 score) and ``c``
(IDF-weighted share of the query's words found in the FAQ: an absolute measure,
unlike ``b``, so a lone common word cannot make a confident match) and ``l`` (the
query mapped through a question→answer map fitted on the corpus itself, compared
with the answer: :mod:`retrieval.adapter`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

ANSWER, SUGGEST, UNKNOWN = "answer", "suggest", "unknown"


@dataclass(frozen=True)
class FusionWeights:
    """Tuned on the dev splits only by ``bench/tune.py`` (see docs/quality.md)."""

    question: float = 0.275
    answer: float = 0.175
    bm25: float = 0.025
    coverage: float = 0.025
    learned: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TierThresholds:
    """When to answer, suggest (もしかして) or admit not knowing.

    ``unknown`` when the out-of-scope model (a logistic regression over
    :func:`confidence_features`, fitted on the resident dev split by
    ``bench/tune.py``) says so — unless every query word occurs in the top FAQ,
    which makes a terse query ambiguous rather than out of scope (``suggest``) —
    or when the best score is below ``suggest``;
    ``answer`` needs a fused score ≥ ``answer`` and a lead ≥ ``margin`` over the
    runner-up; anything else is ``suggest``.
    """

    answer: float = 0.8875
    margin: float = 0.005
    suggest: float = 0.0
    oos_coef: tuple[float, ...] = (-2.8979, -0.6313, -4.3214, -2.2535, -7.3164, -5.291)
    oos_intercept: float = 24.7546
    oos_threshold: float = 0.49

    def to_dict(self) -> dict:
        return asdict(self) | {"oos_coef": list(self.oos_coef)}

    @classmethod
    def from_dict(cls, data: dict) -> TierThresholds:
        return cls(**(data | {"oos_coef": tuple(data.get("oos_coef", ()))}))

    def out_of_scope_probability(self, features: list[float]) -> float | None:
        if not self.oos_coef or len(features) != len(self.oos_coef):
            return None
        z = self.oos_intercept + sum(w * x for w, x in zip(self.oos_coef, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


FEATURE_COVERAGE = 4  # position of the word coverage in confidence_features()


def confidence_features(scores: list[float], q: float, a: float, coverage: float, query_chars: int) -> list[float]:
    """Features of a ranked result used to tell in-scope from out-of-scope questions.

    The best fused score and its lead, the top hit's question and answer cosines and
    word coverage, and the query's length (short queries carry little evidence).
    """
    top = scores[0] if scores else 0.0
    lead = top - scores[1] if len(scores) > 1 else top
    return [top, lead, q, a, coverage, math.log1p(query_chars)]


def scale_bm25(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if scores.size else 0.0
    if top <= 0.0:
        return np.zeros_like(scores, dtype=np.float32)
    return (scores / top).astype(np.float32)


def fuse(signals, weights: FusionWeights) -> np.ndarray:
    """Weighted sum of the per-candidate signals (``retrieval.index.Signals``)."""
    return (weights.question * signals.q + weights.answer * signals.a + weights.bm25 * signals.b
            + weights.coverage * signals.c + weights.learned * signals.l).astype(np.float32)


def answer_tier(scores: list[float], thresholds: TierThresholds, features: list[float] | None = None) -> str:
    """Tier for a ranked score list (best first) and the top hit's confidence features."""
    if not scores:
        return UNKNOWN
    p_oos = thresholds.out_of_scope_probability(features) if features else None
    if p_oos is not None and p_oos >= thresholds.oos_threshold:
        # A terse query all of whose words are in the top FAQ (「ごみ」, 「住民票」) is
        # ambiguous, not out of scope: offer candidates instead of giving up.
        fully_covered = features[FEATURE_COVERAGE] >= 0.999
        return SUGGEST if fully_covered else UNKNOWN
    top = scores[0]
    lead = top - scores[1] if len(scores) > 1 else top
    if top >= thresholds.answer and lead >= thresholds.margin:
        return ANSWER
    if top >= thresholds.suggest:
        return SUGGEST
    return UNKNOWN
