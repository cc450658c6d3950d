"""Tune fusion weights and tier thresholds on the DEV splits only (never on test).

    .venv/bin/python bench/tune.py

Grid-searches the fusion weights (question / answer / BM25) for the best mean MRR@10
over the dev splits of our labelled sets, then picks tier thresholds on the resident
dev split: the lowest ``answer`` threshold whose answer precision is ≥ 0.95 on dev,
and the ``suggest`` threshold that maximises (out-of-scope → unknown) + (in-scope →
answer|suggest). Prints the chosen values; they are copied into retrieval/fusion.py
by hand, and docs/quality.md records the run.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.evaluate import cached_index  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from retrieval.datasets import load_query_jsonl  # noqa: E402
from retrieval.encoders import load_encoder  # noqa: E402
from retrieval.evaluation import ranking_metrics  # noqa: E402
from retrieval.faq import load_faq_paths  # noqa: E402
from retrieval.fusion import FusionWeights, TierThresholds, answer_tier  # noqa: E402

KOSODATE = REPO.parent / "shared" / "datasets" / "kosodate-faq" / "faq.csv"
DEV_SETS = {
    "resident": (REPO / "data/faq/resident", REPO / "data/eval/resident.dev.jsonl"),
    "staff": (REPO / "data/faq/staff", REPO / "data/eval/staff.dev.jsonl"),
    "kosodate": (KOSODATE, REPO / "data/eval/kosodate.dev.jsonl"),
}


def main() -> None:
    settings = load_settings()
    encoder = load_encoder(settings["ENCODER"])
    loaded = {}
    for name, (faq, queries) in DEV_SETS.items():
        if faq.exists() and queries.exists():
            loaded[name] = (cached_index(load_faq_paths([faq]), settings, encoder), load_query_jsonl(queries))
    grid = [FusionWeights(q, a, round(1 - q - a, 2)) for q, a in itertools.product(np.arange(0, 1.01, 0.05), repeat=2)
            if q + a <= 1.0001]
    grid = [FusionWeights(round(w.question, 2), round(w.answer, 2), max(0.0, w.bm25)) for w in grid]
    scored = []
    for weights in grid:
        per_set = {}
        for name, (index, eval_set) in loaded.items():
            runs = {q: [h.faq_id for h in index.search(t, k=10, weights=weights).hits]
                    for q, t in eval_set.queries.items() if q not in eval_set.out_of_scope}
            per_set[name] = ranking_metrics(runs, eval_set.qrels)["mrr@10"]
        scored.append((float(np.mean(list(per_set.values()))), weights, per_set))
    scored.sort(key=lambda s: -s[0])
    best_mrr, best, per_set = scored[0]
    report = {"weights": best.to_dict(), "dev_mrr@10": per_set, "mean": round(best_mrr, 4),
              "top5": [(round(s, 4), w.to_dict()) for s, w, _ in scored[:5]]}
    if "resident" in loaded:
        report["tiers"] = tune_tiers(*loaded["resident"], best)
    print(json.dumps(report, ensure_ascii=False, indent=2))


def tune_tiers(index, eval_set, weights: FusionWeights) -> dict:
    results = {q: index.search(t, k=3, weights=weights) for q, t in eval_set.queries.items()}
    scores = {q: [h.score for h in r.hits] for q, r in results.items()}
    correct = {q: bool(r.hits) and eval_set.qrels[q].get(r.hits[0].faq_id, 0) > 0 for q, r in results.items()}
    in_scope = [q for q in results if q not in eval_set.out_of_scope]
    best = None
    for answer, margin in itertools.product(np.arange(0.70, 0.98, 0.005), (0.0, 0.01, 0.02, 0.03, 0.05)):
        tiers = {q: answer_tier(scores[q], TierThresholds(answer, margin, 0.0)) for q in results}
        answered = [q for q in in_scope if tiers[q] == "answer"]
        precision = sum(correct[q] for q in answered) / max(1, len(answered))
        wrongly = sum(tiers[q] == "answer" for q in eval_set.out_of_scope)
        if precision >= 0.95 and wrongly <= 0.02 * max(1, len(eval_set.out_of_scope)):
            candidate = (len(answered), -answer, round(float(answer), 3), margin, round(precision, 4))
            best = max(best, candidate) if best else candidate
    answer, margin = (best[2], best[3]) if best else (0.9, 0.03)
    options = []
    for suggest in np.arange(0.50, answer, 0.005):
        thresholds = TierThresholds(answer, margin, float(suggest))
        tiers = {q: answer_tier(scores[q], thresholds) for q in results}
        oos = sum(tiers[q] == "unknown" for q in eval_set.out_of_scope) / max(1, len(eval_set.out_of_scope))
        covered = sum(tiers[q] != "unknown" for q in in_scope) / max(1, len(in_scope))
        options.append((min(oos, covered), oos + covered, round(float(suggest), 3), round(oos, 4), round(covered, 4)))
    _, _, suggest, oos, covered = max(options)
    return {"answer": answer, "margin": margin, "suggest": suggest,
            "dev_answer_precision": best[4] if best else None, "dev_oos_unknown": oos, "dev_in_scope_covered": covered}


if __name__ == "__main__":
    main()
