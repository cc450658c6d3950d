"""Word-level normalisation: Sudachi tokens in one recorded configuration.

:class:`NormalizerConfig` is written into every index manifest; an index built
with another configuration (split mode, form, dropped parts of speech, synonym
table, dictionary version) refuses to load. Missing optional dependencies raise an
``ImportError`` that says what to install.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import metadata

from retrieval.textnorm import TEXTNORM_FINGERPRINT, normalize_text

DEFAULT_DROP_POS = ("助詞", "助動詞", "補助記号", "記号", "空白")


def _dictionary_version() -> str:
    try:
        return "sudachidict-core " + metadata.version("sudachidict-core")
    except metadata.PackageNotFoundError:  # pragma: no cover - depends on install
        return "unknown"


@dataclass(frozen=True)
class NormalizerConfig:
    """Everything that decides which tokens a text becomes."""

    split_mode: str = "A"
    form: str = "normalized_form"
    drop_pos: tuple[str, ...] = DEFAULT_DROP_POS
    textnorm: str = TEXTNORM_FINGERPRINT
    synonyms: bool = True
    dictionary: str = field(default_factory=_dictionary_version)

    def to_dict(self) -> dict:
        return asdict(self) | {"drop_pos": list(self.drop_pos)}

    @classmethod
    def from_dict(cls, data: dict) -> NormalizerConfig:
        return cls(**(data | {"drop_pos": tuple(data["drop_pos"])}))

    @property
    def fingerprint(self) -> str:
        raw = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


_HIRAGANA = {code: code + 0x60 for code in range(ord("ぁ"), ord("ゖ") + 1)}


def _is_kana(char: str) -> bool:
    return "ぁ" <= char <= "ゖ" or "ァ" <= char <= "ヺ" or char == "ー"


def kana_share(text: str) -> float:
    """Share of kana among the letters of ``text`` (hiragana-only queries score 1.0)."""
    letters = [c for c in text if c.isalnum()]
    return sum(map(_is_kana, letters)) / len(letters) if letters else 0.0


def bigrams(text: str) -> list[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)] or ([text] if text else [])


class Normalizer:
    """Turns Japanese text into normalised content tokens for BM25."""

    def __init__(self, config: NormalizerConfig | None = None):
        self.config = config or NormalizerConfig()
        if self.config.split_mode not in ("A", "B", "C"):
            raise ValueError(f"unknown Sudachi split mode: {self.config.split_mode}")
        if self.config.form not in ("normalized_form", "dictionary_form", "surface"):
            raise ValueError(f"unknown token form: {self.config.form}")

    @cached_property
    def _tokenizer(self):
        try:
            from sudachipy import Dictionary, SplitMode
        except ImportError:
            raise ImportError("pip install sudachipy sudachidict-core") from None
        return Dictionary(dict="core").create(mode=getattr(SplitMode, self.config.split_mode))

    def text(self, text: str) -> str:
        """Character-level normalisation only (NFKC + synonyms)."""
        return normalize_text(text, self.config.synonyms)

    def tokens(self, text: str) -> list[str]:
        """Content tokens of ``text`` (particles, auxiliaries and symbols dropped)."""
        normalized = self.text(text)
        if not normalized:
            return []
        drop = self.config.drop_pos
        out: list[str] = []
        for morpheme in self._tokenizer.tokenize(normalized[:20000]):
            if morpheme.part_of_speech()[0] in drop:
                continue
            token = getattr(morpheme, self.config.form)()
            token = token.strip().lower()
            if token:
                out.append(token)
        return out

    def reading(self, text: str) -> str:
        """The reading (katakana) of a document text, from Sudachi."""
        normalized = self.text(text)
        return "".join(m.reading_form() for m in self._tokenizer.tokenize(normalized[:20000])
                       if m.part_of_speech()[0] not in ("補助記号", "記号", "空白"))

    @staticmethod
    def kana_reading(text: str) -> str:
        """A kana query as katakana, spaces and symbols dropped (no segmentation needed)."""
        return "".join(c for c in text.translate(_HIRAGANA) if _is_kana(c))
