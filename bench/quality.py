"""Answer quality on every labelled set, with ablations, as Markdown (docs/quality.md).

    .venv/bin/python bench/quality.py > docs/quality-tables.md

Runs ``citybot eval`` (production pipeline, --ablation) on the dev and test split of
each set; the kosodate sets need ../shared/datasets/kosodate-faq/faq.csv.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KOSODATE = REPO.parent / "shared" / "datasets" / "kosodate-faq" / "faq.csv"
SETS = {"resident": REPO / "data/faq/resident", "staff": REPO / "data/faq/staff", "kosodate": KOSODATE}
COLUMNS = ("hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10", "recall@10", "p@5")


def run(faq: Path, queries: Path) -> dict:
    command = [str(REPO / ".venv/bin/citybot"), "eval", "--faq", str(faq), "--queries", str(queries),
               "--ablation", "--json"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    print("| set | split | queries (in / out) | " + " | ".join(COLUMNS) + " | answer rate | answer precision |"
          " in-scope answer+suggest | out-of-scope → unknown | p50 / p95 ms |")
    print("|" + "---|" * (len(COLUMNS) + 8))
    ablations = {}
    for name, faq in SETS.items():
        if not faq.exists():
            print(f"<!-- {name}: {faq} missing -->", file=sys.stderr)
            continue
        for split in ("dev", "test"):
            report = run(faq, REPO / f"data/eval/{name}.{split}.jsonl")
            m, t, lat = report["metrics"], report["tiers"], report["latency"]
            oos = f"{t['oos_unknown']:.3f}" if "oos_unknown" in t else "–"
            print(f"| {name} | {split} | {t['in_scope_queries']} / {t['oos_queries']} | "
                  + " | ".join(f"{m[c]:.3f}" for c in COLUMNS)
                  + f" | {t['answer_rate']:.3f} | {t['answer_precision']:.3f} | {t['in_scope_answered']:.3f} | {oos}"
                  f" | {lat['p50_ms']} / {lat['p95_ms']} |")
            ablations[(name, split)] = report["ablation"]
    print("\n| set | split | configuration | hit@1 | mrr@10 | ndcg@10 | out-of-scope → unknown |")
    print("|---|---|---|---|---|---|---|")
    for (name, split), rows in ablations.items():
        for config, report in rows.items():
            m, t = report["metrics"], report["tiers"]
            oos = f"{t['oos_unknown']:.3f}" if "oos_unknown" in t else "–"
            print(f"| {name} | {split} | {config} | {m['hit@1']:.3f} | {m['mrr@10']:.3f} | {m['ndcg@10']:.3f} | {oos} |")


if __name__ == "__main__":
    main()
