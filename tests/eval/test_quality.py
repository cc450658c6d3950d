"""Answer quality on the labelled TEST splits, as regression floors (slow: real encoder).

The floors are the issue's targets where we meet them and just under today's
figure where we do not (docs/quality.md says which); nothing here is tuned on test.
"""

from __future__ import annotations

import pytest

from bot.evaluate import cached_index, run_eval
from bot.settings import REPO_ROOT, load_settings
from retrieval.datasets import load_query_jsonl
from retrieval.encoders import load_encoder
from retrieval.faq import load_faq_paths
from tests.conftest import KOSODATE_CSV

pytestmark = pytest.mark.eval


@pytest.fixture(scope="module")
def evaluate():
    settings = load_settings()
    encoder = load_encoder(settings["ENCODER"])

    def run(faq, queries):
        index = cached_index(load_faq_paths([faq]), settings, encoder)
        return run_eval(index, load_query_jsonl(queries))

    return run


def test_resident_test_split(evaluate):
    report = evaluate(REPO_ROOT / "data/faq/resident", REPO_ROOT / "data/eval/resident.test.jsonl")
    metrics, tiers = report["metrics"], report["tiers"]
    assert metrics["hit@1"] >= 0.90
    assert metrics["hit@3"] >= 0.97
    assert tiers["answer_precision"] >= 0.90
    assert tiers["in_scope_answered"] >= 0.90
    assert tiers["oos_unknown"] >= 0.88  # target 0.90; 0.889 today (docs/quality.md)


def test_staff_test_split(evaluate):
    report = evaluate(REPO_ROOT / "data/faq/staff", REPO_ROOT / "data/eval/staff.test.jsonl")
    assert report["metrics"]["hit@1"] >= 0.90
    assert report["tiers"]["answer_precision"] >= 0.90


@pytest.mark.skipif(not KOSODATE_CSV.exists(), reason="../shared/datasets/kosodate-faq not present")
def test_kosodate_test_split(evaluate):
    report = evaluate(KOSODATE_CSV, REPO_ROOT / "data/eval/kosodate.test.jsonl")
    assert report["metrics"]["mrr@10"] >= 0.85
    assert report["metrics"]["hit@1"] >= 0.80
