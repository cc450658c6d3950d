"""Ranking metrics and tier statistics: pure functions over ranked id lists and qrels.

Definitions (per query, averaged over queries that have at least one relevant id):
Hit@k (= success@k), MRR@10, nDCG@10 with graded gains (2^rel - 1, log2 discount,
ideal = best possible ordering of the judged ids), Recall@10, P@5.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

Ranking = Sequence[str]
Qrels = Mapping[str, Mapping[str, int]]


def hit_at(ranking: Ranking, relevant: Mapping[str, int], k: int) -> float:
    return float(any(relevant.get(doc, 0) > 0 for doc in ranking[:k]))


def reciprocal_rank(ranking: Ranking, relevant: Mapping[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranking[:k], 1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranking: Ranking, relevant: Mapping[str, int], k: int = 10) -> float:
    def dcg(gains: Sequence[int]) -> float:
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))

    ideal = dcg(sorted((g for g in relevant.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([relevant.get(doc, 0) for doc in ranking[:k]]) / ideal


def recall_at(ranking: Ranking, relevant: Mapping[str, int], k: int = 10) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    if not wanted:
        return 0.0
    return len(wanted & set(ranking[:k])) / len(wanted)


def precision_at(ranking: Ranking, relevant: Mapping[str, int], k: int = 5) -> float:
    return sum(1 for doc in ranking[:k] if relevant.get(doc, 0) > 0) / k


def ranking_metrics(runs: Mapping[str, Ranking], qrels: Qrels) -> dict[str, float]:
    """Mean metrics over the queries of ``qrels`` that have a relevant id (missing runs count as empty)."""
    judged = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not judged:
        return {"queries": 0}
    per_metric = {
        "hit@1": lambda r, rel: hit_at(r, rel, 1),
        "hit@3": lambda r, rel: hit_at(r, rel, 3),
        "hit@10": lambda r, rel: hit_at(r, rel, 10),
        "mrr@10": lambda r, rel: reciprocal_rank(r, rel, 10),
        "ndcg@10": lambda r, rel: ndcg_at(r, rel, 10),
        "recall@10": lambda r, rel: recall_at(r, rel, 10),
        "p@5": lambda r, rel: precision_at(r, rel, 5),
    }
    out: dict[str, float] = {"queries": len(judged)}
    for name, metric in per_metric.items():
        out[name] = round(statistics.fmean(metric(runs.get(q, []), qrels[q]) for q in judged), 4)
    return out


def tier_metrics(tiers: Mapping[str, str], top_ids: Mapping[str, str | None], qrels: Qrels,
                 out_of_scope: set[str]) -> dict[str, float]:
    """How the confidence tiers behave.

    - ``answer_precision``: share of in-scope queries tiered *answer* whose top id is relevant;
    - ``in_scope_answered``: share of in-scope queries tiered *answer* or *suggest*;
    - ``answer_rate``: share of in-scope queries tiered *answer*;
    - ``oos_unknown``: share of out-of-scope queries tiered *unknown*.
    """
    in_scope = [q for q in qrels if q not in out_of_scope]
    answered = [q for q in in_scope if tiers.get(q) == "answer"]
    correct = [q for q in answered if qrels[q].get(top_ids.get(q) or "", 0) > 0]
    out = {
        "answer_rate": _share(len(answered), len(in_scope)),
        "answer_precision": _share(len(correct), len(answered)),
        "in_scope_answered": _share(sum(tiers.get(q) in ("answer", "suggest") for q in in_scope), len(in_scope)),
        "in_scope_queries": len(in_scope),
        "oos_queries": len(out_of_scope),
    }
    if out_of_scope:
        out["oos_unknown"] = _share(sum(tiers.get(q) == "unknown" for q in out_of_scope), len(out_of_scope))
    return out


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ms = sorted(s * 1000 for s in seconds)
    return {"p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)], 1)}


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
