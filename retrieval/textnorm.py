"""Character-level Japanese normalisation shared by indexing, querying and the Rasa NLU.

Pure Python (standard library only) so that the Rasa runtime on Python 3.10 can import
it too (see ``rasa_addons/normalizer.py``). Word-level normalisation (Sudachi) lives in
:mod:`retrieval.normalizer` and is applied on top of this.

The municipal synonym table folds 表記ゆれ that Sudachi's ``normalized_form`` does not
unify (ゴミ/ごみ/塵, マイナカード/マイナンバーカード, 子供/子ども …). Every change to
the table changes :data:`TEXTNORM_FINGERPRINT`, which is stored in each index manifest,
so an index built with an older table refuses to load.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

#: variant -> canonical form. Applied longest variant first, after NFKC.
SYNONYMS: dict[str, str] = {
    # ごみ
    "ゴミ": "ごみ",
    "塵芥": "ごみ",
    "粗大ゴミ": "粗大ごみ",
    "そだいごみ": "粗大ごみ",
    "もえるごみ": "燃えるごみ",
    "燃やせるごみ": "燃えるごみ",
    "可燃ごみ": "燃えるごみ",
    "もえないごみ": "燃えないごみ",
    "不燃ごみ": "燃えないごみ",
    "燃やせないごみ": "燃えないごみ",
    # マイナンバー
    "マイナカード": "マイナンバーカード",
    "マイナンバカード": "マイナンバーカード",
    "個人番号カード": "マイナンバーカード",
    "まいなんばーかーど": "マイナンバーカード",
    "まいなんばー": "マイナンバー",
    "マイナ保険証": "マイナンバーカードの健康保険証利用",
    # 住民票・戸籍
    "住民票の写し": "住民票",
    "じゅうみんひょう": "住民票",
    "こせきとうほん": "戸籍謄本",
    "印鑑証明書": "印鑑登録証明書",
    "印鑑証明": "印鑑登録証明書",
    "はんこ": "印鑑",
    "ハンコ": "印鑑",
    # 子ども
    "子供": "子ども",
    "こども": "子ども",
    "コドモ": "子ども",
    "母子手帳": "母子健康手帳",
    "保育園": "保育所",
    # 引っ越し
    "引越し": "引っ越し",
    "引越": "引っ越し",
    "ひっこし": "引っ越し",
    # misc
    "国保": "国民健康保険",
    "こくほ": "国民健康保険",
    "wifi": "wi-fi",
}

_SPACE_RE = re.compile(r"\s+")
_ORDERED = sorted(SYNONYMS.items(), key=lambda kv: len(kv[0]), reverse=True)
_SYNONYM_RE = re.compile("|".join(re.escape(unicodedata.normalize("NFKC", k)) for k, _ in _ORDERED))
_CANONICAL = {unicodedata.normalize("NFKC", k): v for k, v in _ORDERED}

TEXTNORM_VERSION = 1
TEXTNORM_FINGERPRINT = hashlib.sha256(
    repr((TEXTNORM_VERSION, sorted(SYNONYMS.items()))).encode("utf-8")
).hexdigest()[:16]


def normalize_text(text: str, synonyms: bool = True) -> str:
    """NFKC, lower-case Latin, collapse whitespace, fold municipal synonyms.

    Idempotent: ``normalize_text(normalize_text(x)) == normalize_text(x)``.
    ``synonyms=False`` exists only to measure what the table is worth.
    """
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _SPACE_RE.sub(" ", text).strip()
    return _SYNONYM_RE.sub(lambda m: _CANONICAL[m.group(0)], text) if synonyms else text
