"""Metric code against hand-computed examples; BEIR in, TREC out; `citybot eval` end to end."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from retrieval.datasets import load_beir, load_query_jsonl, write_trec
from retrieval.evaluation import (
    hit_at,
    latency_summary,
    ndcg_at,
    precision_at,
    ranking_metrics,
    recall_at,
    reciprocal_rank,
    tier_metrics,
)

RANKING = ["d3", "d1", "d7", "d2", "d9"]
RELEVANT = {"d1": 2, "d2": 1, "d4": 1}


def test_hit_and_reciprocal_rank():
    assert hit_at(RANKING, RELEVANT, 1) == 0.0
    assert hit_at(RANKING, RELEVANT, 3) == 1.0
    assert reciprocal_rank(RANKING, RELEVANT) == 0.5
    assert reciprocal_rank(RANKING, RELEVANT, k=1) == 0.0


def test_graded_ndcg_by_hand():
    # gains 2^rel - 1: d1 → 3 at rank 2, d2 → 1 at rank 4
    dcg = 3 / math.log2(3) + 1 / math.log2(5)
    ideal = 3 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(RANKING, RELEVANT) == pytest.approx(dcg / ideal)
    assert ndcg_at(["d1", "d2", "d4"], RELEVANT) == pytest.approx(1.0)
    assert ndcg_at(RANKING, {}) == 0.0


def test_recall_and_precision():
    assert recall_at(RANKING, RELEVANT, 10) == pytest.approx(2 / 3)
    assert precision_at(RANKING, RELEVANT, 5) == pytest.approx(2 / 5)


def test_mean_metrics_skip_unjudged_and_count_missing_runs_as_empty():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {}}
    runs = {"q1": ["a", "x"], "q3": ["a"]}
    metrics = ranking_metrics(runs, qrels)
    assert metrics["queries"] == 2
    assert metrics["hit@1"] == 0.5 and metrics["mrr@10"] == 0.5


def test_tier_metrics():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}, "o1": {}, "o2": {}}
    tiers = {"q1": "answer", "q2": "answer", "q3": "suggest", "o1": "unknown", "o2": "suggest"}
    top = {"q1": "a", "q2": "x", "q3": "c", "o1": None, "o2": "a"}
    out = tier_metrics(tiers, top, qrels, {"o1", "o2"})
    assert out["answer_precision"] == 0.5
    assert out["answer_rate"] == pytest.approx(0.6667, abs=1e-4)
    assert out["in_scope_answered"] == 1.0
    assert out["oos_unknown"] == 0.5


def test_latency_percentiles():
    out = latency_summary([i / 1000 for i in range(1, 101)])
    assert out == {"p50_ms": 50.5, "p95_ms": 95.0}


def write_beir(directory, qrels_name="qrels.tsv"):
    directory.mkdir(parents=True, exist_ok=True)
    docs = [("d1", "粗大ごみはどうやって出せばいいですか。", "粗大ごみは事前申込制です。"),
            ("d2", "住民票の写しはどこで取れますか。", "市民課の窓口で取得できます。"),
            ("d3", "図書館の開館時間は。", "午前9時30分から午後7時までです。")]
    (directory / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}, ensure_ascii=False) for i, t, x in docs), "utf-8")
    queries = [("q1", "大きい家具を捨てたい"), ("q2", "住民票がほしい"), ("q3", "本を借りたいけど何時まで開いてる"),
               ("q4", "採点されない質問")]
    (directory / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "text": t}, ensure_ascii=False) for i, t in queries), "utf-8")
    path = directory / qrels_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td2\t1\nq3\td3\t1\n", "utf-8")
    return directory


@pytest.mark.parametrize("qrels_name", ["qrels.tsv", "qrels/test.tsv"])
def test_load_beir(tmp_path, qrels_name):
    corpus, eval_set = load_beir(write_beir(tmp_path / "beir", qrels_name))
    assert [e.faq_id for e in corpus] == ["d1", "d2", "d3"]
    assert corpus[0].question.startswith("粗大ごみ") and corpus[0].answer.startswith("粗大ごみは事前")
    assert set(eval_set.queries) == {"q1", "q2", "q3"}  # unjudged q4 is not scored
    assert eval_set.qrels["q1"] == {"d1": 2}


def test_query_jsonl_and_trec(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "ごみ", "faq_ids": ["R-1", "R-2"]}\n{"query": "天気", "out_of_scope": true}\n', "utf-8")
    eval_set = load_query_jsonl(path)
    assert eval_set.qrels == {"q0001": {"R-1": 1, "R-2": 1}, "q0002": {}}
    assert eval_set.out_of_scope == {"q0002"}
    write_trec(tmp_path / "run.trec", {"q0001": [("R-1", 0.9), ("R-2", 0.5)]})
    lines = (tmp_path / "run.trec").read_text().splitlines()
    assert lines == ["q0001 Q0 R-1 1 0.900000 citybot", "q0001 Q0 R-2 2 0.500000 citybot"]


def test_citybot_eval_beir_end_to_end(tmp_path, monkeypatch):
    """The real command with the real bundled encoder on a three-document corpus."""
    from bot import cli

    monkeypatch.setenv("CITYBOT_EMBEDDING_CACHE", str(tmp_path / "emb.sqlite"))
    beir = write_beir(tmp_path / "beir")
    trec = tmp_path / "run.trec"
    result = CliRunner().invoke(cli.main, ["eval", "--beir", str(beir), "--trec-out", str(trec), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["metrics"]["queries"] == 3
    assert report["metrics"]["hit@1"] == 1.0
    assert {"p50_ms", "p95_ms"} <= set(report["latency"])
    rows = [line.split() for line in trec.read_text().splitlines()]
    assert {r[0] for r in rows} == {"q1", "q2", "q3"}
    assert all(r[1] == "Q0" and r[5] == "citybot" for r in rows)
    assert [r[2] for r in rows if r[0] == "q1" and r[3] == "1"] == ["d1"]


def test_citybot_eval_rejects_mixed_inputs(tmp_path):
    from bot import cli

    beir = write_beir(tmp_path / "beir")
    result = CliRunner().invoke(cli.main, ["eval", "--beir", str(beir), "--queries", str(beir / "queries.jsonl")])
    assert result.exit_code != 0 and "either" in result.output
