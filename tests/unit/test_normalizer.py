"""One normaliser for indexing, querying and NLU: 表記ゆれ fold to the same tokens."""

from __future__ import annotations

import pytest

from retrieval.normalizer import Normalizer, NormalizerConfig
from retrieval.textnorm import normalize_text


@pytest.fixture(scope="module")
def normalizer():
    return Normalizer()


@pytest.mark.parametrize(("variant", "canonical"), [
    ("ゴミの出し方", "ごみの出し方"),
    ("粗大ゴミ", "粗大ごみ"),
    ("ｿﾀﾞｲｺﾞﾐ", "粗大ごみ"),
    ("マイナカードの更新", "マイナンバーカードの更新"),
    ("住民票の写しを取りたい", "住民票を取りたい"),
    ("子供の医療費", "子どもの医療費"),
    ("母子手帳", "母子健康手帳"),
    ("印鑑証明", "印鑑登録証明書"),
    ("１２３ＡＢＣ", "123abc"),
])
def test_variants_give_the_same_tokens(normalizer, variant, canonical):
    assert normalizer.tokens(variant) == normalizer.tokens(canonical)


def test_text_normalisation_is_idempotent():
    for text in ["粗大ゴミ", "マイナカード", "住民票の写し", "ｺﾄﾞﾓ", "  全角　空白  "]:
        once = normalize_text(text)
        assert normalize_text(once) == once


def test_particles_and_symbols_are_dropped(normalizer):
    tokens = normalizer.tokens("粗大ごみは、どうやって出せばいいですか？")
    assert "は" not in tokens and "?" not in tokens and "です" not in tokens
    assert {"粗大", "ごみ", "出す"} <= set(tokens)


def test_config_round_trips_and_fingerprint_tracks_changes():
    config = NormalizerConfig()
    assert NormalizerConfig.from_dict(config.to_dict()) == config
    assert NormalizerConfig(split_mode="C").fingerprint != config.fingerprint


def test_unknown_split_mode_is_rejected():
    with pytest.raises(ValueError, match="split mode"):
        Normalizer(NormalizerConfig(split_mode="Z"))
