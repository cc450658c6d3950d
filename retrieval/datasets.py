"""Evaluation data in and out: BEIR directories, our JSONL query sets, TREC run files."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.faq import FaqEntry


@dataclass
class EvalSet:
    """Queries with graded relevance; ``out_of_scope`` ids have no relevant document."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    out_of_scope: set[str] = field(default_factory=set)


def _jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return rows


def load_beir(directory: str | Path) -> tuple[list[FaqEntry], EvalSet]:
    """``corpus.jsonl`` (title = question, text = answer), ``queries.jsonl``, ``qrels.tsv`` or ``qrels/test.tsv``."""
    directory = Path(directory)
    corpus = [FaqEntry(faq_id=str(row["_id"]), question=row.get("title") or "", answer=row.get("text") or "")
              for row in _jsonl(directory / "corpus.jsonl")]
    queries = {str(row["_id"]): row["text"] for row in _jsonl(directory / "queries.jsonl")}
    qrels_path = next((p for p in (directory / "qrels.tsv", directory / "qrels" / "test.tsv") if p.exists()), None)
    if qrels_path is None:
        raise FileNotFoundError(f"{directory}: neither qrels.tsv nor qrels/test.tsv")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # header or blank line
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    evaluated = {q: t for q, t in queries.items() if q in qrels}
    return corpus, EvalSet(evaluated, {q: qrels[q] for q in evaluated})


def _labelled_jsonl(path: Path, relevant: Callable[[dict, int], dict[str, int]]) -> EvalSet:
    """Rows {"query", …labels} or {"query", "out_of_scope": true}; query ids are q0001…"""
    queries, qrels, oos = {}, {}, set()
    for number, row in enumerate(_jsonl(path), 1):
        qid = f"q{number:04d}"
        queries[qid] = row["query"]
        if row.get("out_of_scope"):
            oos.add(qid)
            qrels[qid] = {}
        else:
            qrels[qid] = relevant(row, number)
    return EvalSet(queries, qrels, oos)


def load_query_jsonl(path: str | Path) -> EvalSet:
    """Our FAQ format: {"query", "faq_ids": [...]} or {"query", "out_of_scope": true}."""
    return _labelled_jsonl(Path(path), lambda row, _: {str(i): 1 for i in row["faq_ids"]})


def load_page_query_jsonl(path: str | Path, entries: list[FaqEntry]) -> EvalSet:
    """Page questions: {"query", "urls": [...]} or {"query", "out_of_scope": true}.

    Relevance is judged per page (URL), so runs must be ranked lists of URLs.
    """
    known = {entry.url for entry in entries}

    def relevant(row: dict, number: int) -> dict[str, int]:
        missing = [u for u in row["urls"] if u not in known]
        if missing:
            raise ValueError(f"{path}:{number}: no crawled passage for {missing}")
        return {u: 1 for u in row["urls"]}

    return _labelled_jsonl(Path(path), relevant)


def write_trec(path: str | Path, runs: dict[str, list[tuple[str, float]]], tag: str = "citybot") -> None:
    """Standard TREC run file: ``qid Q0 docid rank score tag``."""
    with Path(path).open("w", encoding="utf-8") as f:
        for qid, hits in runs.items():
            for rank, (doc, score) in enumerate(hits, 1):
                f.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")
