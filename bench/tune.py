"""Tune fusion weights and tier thresholds on the DEV splits only (never on test).

    .venv/bin/python bench/tune.py

Grid-searches the fusion weights (question / answer / BM25 / coverage, step 0.05)
for the best mean MRR@10 over the dev splits of our labelled sets, then the share
of the learned query→answer signal (retrieval/adapter.py) mixed in, then, on the
resident dev split: fits the out-of-scope logistic model on the top hit's
confidence features, picks its threshold to balance (out-of-scope → unknown) with
(in-scope → answer|suggest), and picks the lowest ``answer`` threshold whose answer
precision is ≥ 0.95 on dev. Prints the chosen values; they are copied into
retrieval/fusion.py by hand, and docs/quality.md records the run.
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
from retrieval.fusion import FusionWeights, TierThresholds, answer_tier, confidence_features  # noqa: E402

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
            index = cached_index(load_faq_paths([faq]), settings, encoder)
            eval_set = load_query_jsonl(queries)
            signals = {q: index.signals(t) for q, t in eval_set.queries.items()}  # encode each query once
            loaded[name] = (index, eval_set, signals)
    step = np.round(np.arange(0, 1.0001, 0.05), 2)
    grid = [FusionWeights(float(q), float(a), float(b), round(1 - q - a - b, 2))
            for q, a, b in itertools.product(step, repeat=3) if q + a + b <= 1.0001]
    scored = [(*mean_mrr(loaded, weights), weights) for weights in grid]
    scored = [(mean, weights, per_set) for mean, per_set, weights in scored]
    scored.sort(key=lambda s: -s[0])
    best_mrr, base, per_set = scored[0]
    # second stage: how much of the learned query→answer signal to mix in
    mixes = []
    for share in np.round(np.arange(0, 0.81, 0.1), 2):
        weights = FusionWeights(*(round(float(x) * (1 - share), 4) for x in
                                  (base.question, base.answer, base.bm25, base.coverage)), learned=float(share))
        mixes.append((mean_mrr(loaded, weights)[0], weights, mean_mrr(loaded, weights)[1]))
    mixes.sort(key=lambda s: -s[0])
    best_mrr, best, per_set = mixes[0]
    report = {"weights": best.to_dict(), "dev_mrr@10": per_set, "mean": round(best_mrr, 4),
              "base_top5": [(round(s, 4), w.to_dict()) for s, w, _ in scored[:5]],
              "learned_share": [(round(s, 4), w.learned) for s, w, _ in sorted(mixes, key=lambda m: m[1].learned)]}
    if "resident" in loaded:
        report["tiers"] = tune_tiers(*loaded["resident"], best)
    print(json.dumps(report, ensure_ascii=False, indent=2))


def mean_mrr(loaded: dict, weights: FusionWeights) -> tuple[float, dict]:
    per_set = {}
    for name, (index, eval_set, signals) in loaded.items():
        runs = {q: [h.faq_id for h in index.rank(signals[q], weights, 10)]
                for q in eval_set.queries if q not in eval_set.out_of_scope}
        per_set[name] = ranking_metrics(runs, eval_set.qrels)["mrr@10"]
    return float(np.mean(list(per_set.values()))), per_set


def tune_tiers(index, eval_set, signals, weights: FusionWeights) -> dict:
    """Fit the out-of-scope model and pick thresholds on the resident dev split."""
    from sklearn.linear_model import LogisticRegression

    results = {q: index.rank(signals[q], weights, 3) for q in eval_set.queries}
    scores = {q: [h.score for h in hits] for q, hits in results.items()}
    features = {}
    for q, hits in results.items():
        top = hits[0].signals
        features[q] = confidence_features(scores[q], top["q"], top["a"], top["coverage"],
                                          len(index._normalizer.text(eval_set.queries[q])))
    correct = {q: eval_set.qrels[q].get(hits[0].faq_id, 0) > 0 for q, hits in results.items()}
    in_scope = [q for q in results if q not in eval_set.out_of_scope]
    oos = sorted(eval_set.out_of_scope)
    ids = list(results)
    model = LogisticRegression(C=10, max_iter=2000, class_weight="balanced")
    model.fit(np.array([features[q] for q in ids]), np.array([q in eval_set.out_of_scope for q in ids]))
    base = TierThresholds(answer=1.0, margin=0.0, suggest=0.0, oos_coef=tuple(round(float(c), 4) for c in model.coef_[0]),
                          oos_intercept=round(float(model.intercept_[0]), 4))
    options = []
    for threshold in np.arange(0.05, 0.96, 0.01):
        t = TierThresholds.from_dict(base.to_dict() | {"oos_threshold": round(float(threshold), 2)})
        tiers = {q: answer_tier(scores[q], t, features[q]) for q in results}
        oos_unknown = sum(tiers[q] == "unknown" for q in oos) / max(1, len(oos))
        covered = sum(tiers[q] != "unknown" for q in in_scope) / max(1, len(in_scope))
        options.append((min(oos_unknown, covered), oos_unknown + covered, round(float(threshold), 2)))
    _, _, oos_threshold = max(options)
    best = None
    for answer, margin in itertools.product(np.arange(0.50, 0.99, 0.0025), (0.0, 0.005, 0.01, 0.02, 0.03)):
        t = TierThresholds.from_dict(base.to_dict() | {"answer": round(float(answer), 4), "margin": margin,
                                                       "oos_threshold": oos_threshold})
        tiers = {q: answer_tier(scores[q], t, features[q]) for q in results}
        answered = [q for q in in_scope if tiers[q] == "answer"]
        precision = sum(correct[q] for q in answered) / max(1, len(answered))
        if precision >= 0.95:
            candidate = (len(answered), -answer, t, round(precision, 4))
            best = max(best, candidate, key=lambda c: (c[0], c[1])) if best else candidate
    chosen = best[2] if best else base
    tiers = {q: answer_tier(scores[q], chosen, features[q]) for q in results}
    return chosen.to_dict() | {
        "dev_answer_precision": best[3] if best else None,
        "dev_answer_rate": round(sum(tiers[q] == "answer" for q in in_scope) / len(in_scope), 4),
        "dev_oos_unknown": round(sum(tiers[q] == "unknown" for q in oos) / max(1, len(oos)), 4),
        "dev_in_scope_covered": round(sum(tiers[q] != "unknown" for q in in_scope) / len(in_scope), 4),
    }


if __name__ == "__main__":
    main()
