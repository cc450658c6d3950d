"""Lexical signals: BM25 parity with a reference formula, coverage, kana reading match, tiers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retrieval.bm25 import Bm25Index
from retrieval.faq import parse_faq_csv
from retrieval.fusion import (
    ANSWER,
    SUGGEST,
    UNKNOWN,
    FusionWeights,
    TierThresholds,
    answer_tier,
    confidence_features,
)
from retrieval.index import build_index, load_index
from retrieval.normalizer import Normalizer, bigrams, kana_share

CORPUS = [["粗大", "ごみ", "出す"], ["ごみ", "分別"], ["住民票", "写し", "取る", "住民票"], ["図書館", "開館", "時間"]]


def reference_bm25(corpus, query, k1=1.2, b=0.75):
    """Lucene BM25 written out from the formula (the reference for the parity test)."""
    n = len(corpus)
    avgdl = sum(map(len, corpus)) / n
    scores = []
    for doc in corpus:
        score = 0.0
        for term in query:
            df = sum(term in d for d in corpus)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            score += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return np.array(scores)


@pytest.mark.parametrize("query", [["ごみ"], ["住民票", "取る"], ["粗大", "ごみ", "分別"], ["図書館", "未知語"]])
def test_bm25_matches_reference_formula(query):
    ours = Bm25Index(CORPUS).scores(query)
    np.testing.assert_allclose(ours, reference_bm25(CORPUS, query), rtol=1e-5, atol=1e-6)


def test_unknown_words_score_nothing():
    assert not Bm25Index(CORPUS).scores(["天気"]).any()


def test_doc_coverage_is_idf_weighted_share_of_query_words():
    index = Bm25Index(CORPUS)
    coverage = index.doc_coverage(["粗大", "ごみ"], [0, 1, 2])
    assert coverage[0] == pytest.approx(1.0)
    assert 0 < coverage[1] < 0.5  # only the common word ごみ
    assert coverage[2] == 0.0
    # a word the corpus never saw weighs as much as the rarest word
    assert index.doc_coverage(["天気", "ごみ"], [1])[0] < 0.5


def test_kana_helpers():
    assert kana_share("りさいしょうめい") == 1.0
    assert kana_share("住民票 コンビニ") < 0.8
    assert Normalizer.kana_reading("すぷれー かん！") == "スプレーカン"
    assert bigrams("アイウ") == ["アイ", "イウ"] and bigrams("ア") == ["ア"]


def test_hiragana_only_query_finds_the_kanji_faq(tmp_path, fake_encoder):
    csv = """faq_id,question,answer
R-1,罹災証明書はどのように申請すればいいですか。,危機管理課の窓口で申請してください。
R-2,印鑑登録をするにはどうすればいいですか。,市民課で登録します。
R-3,スプレー缶はどのように出せばいいですか。,中身を使い切って有害ごみに出してください。
"""
    normalizer = Normalizer()
    build_index(parse_faq_csv(csv), tmp_path / "i", fake_encoder, normalizer)
    index = load_index(tmp_path / "i", fake_encoder, normalizer)
    lexical = FusionWeights(question=0.0, answer=0.0, bm25=0.5, coverage=0.5)  # the fake encoder reads no kana
    assert index.search("りさいしょうめい", weights=lexical).hits[0].faq_id == "R-1"
    assert index.search("いんかんとうろく", weights=lexical).hits[0].faq_id == "R-2"
    assert index.search("すぷれーかん すてかた", weights=lexical).hits[0].faq_id == "R-3"
    # the reading channel is what finds them: without kana, no lexical match at all
    assert not index.search("りさいしょうめい", weights=lexical).hits[0].signals["bm25"] == 0


NO_MODEL = TierThresholds(answer=0.8, margin=0.03, suggest=0.6, oos_coef=())


@pytest.mark.parametrize(("scores", "tier"), [
    ([0.9, 0.8], ANSWER),
    ([0.9, 0.89], SUGGEST),   # no clear lead
    ([0.7, 0.5], SUGGEST),
    ([0.5, 0.4], UNKNOWN),
    ([], UNKNOWN),
])
def test_tiers_from_scores(scores, tier):
    assert answer_tier(scores, NO_MODEL) == tier


def test_out_of_scope_model_overrides_scores_unless_every_word_matched():
    # a model that always says "out of scope"
    always = TierThresholds(answer=0.8, margin=0.03, suggest=0.6, oos_coef=(0.0,) * 6, oos_intercept=10.0)
    partial = confidence_features([0.95, 0.5], q=0.9, a=0.9, coverage=0.3, query_chars=6)
    full = confidence_features([0.95, 0.5], q=0.9, a=0.9, coverage=1.0, query_chars=2)
    assert answer_tier([0.95, 0.5], always, partial) == UNKNOWN
    assert answer_tier([0.95, 0.5], always, full) == SUGGEST
    never = TierThresholds(answer=0.8, margin=0.03, suggest=0.6, oos_coef=(0.0,) * 6, oos_intercept=-10.0)
    assert answer_tier([0.95, 0.5], never, partial) == ANSWER


def test_thresholds_round_trip_through_the_manifest():
    thresholds = TierThresholds()
    assert TierThresholds.from_dict(thresholds.to_dict()) == thresholds
