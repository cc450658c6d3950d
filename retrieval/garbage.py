"""Garbage collection days per district and the garbage-sorting dictionary.

Data (sample, maintained by the city as CSV next to the FAQ):

- ``areas.csv``: ``district, reading, <one column per collection category>`` with
  day cells such as ``月・木`` (weekly) or ``第2・第4水`` (monthly);
- ``items.csv`` (5374.jp style): ``item, reading, category, notes``.

Lookups are tolerant to 表記ゆれ: text is normalised with the shared
:func:`retrieval.textnorm.normalize_text` (so ゴミ/ごみ, 可燃ごみ/燃えるごみ fold
together), and an item or district written in kana is found through its reading
(すぷれー缶, スプレーかん → スプレー缶).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrieval.normalizer import Normalizer
from retrieval.textnorm import normalize_text

#: canonical category name -> words residents use for it (normalised at load time)
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "可燃ごみ": ("可燃ごみ", "燃えるごみ", "燃やすごみ", "可燃", "生ごみ"),
    "不燃ごみ": ("不燃ごみ", "燃えないごみ", "燃やさないごみ", "不燃"),
    "有害ごみ": ("有害ごみ", "有害"),
    "びん・缶": ("びん・缶", "びん缶", "ビン・カン", "ビンカン", "びん", "ビン", "瓶", "缶", "カン", "資源ごみ"),
    "ペットボトル": ("ペットボトル", "ペット"),
    "古紙・布類": ("古紙・布類", "古紙", "布類", "古布", "新聞", "雑誌", "段ボール", "ダンボール", "紙類"),
}
WEEKDAYS = "月火水木金土日"


class GarbageDataError(ValueError):
    """A garbage CSV cannot be used (missing column, unknown category, bad day cell)."""


def katakana(text: str) -> str:
    """Kana of ``text`` as katakana, long-vowel marks and everything else dropped
    (Sudachi reads an unknown すぷれー as スプレ)."""
    return Normalizer.kana_reading(normalize_text(text, synonyms=False)).replace("ー", "")


@dataclass(frozen=True)
class District:
    name: str
    reading: str
    days: dict[str, str]  # category -> day cell, e.g. "月・木"


@dataclass(frozen=True)
class Item:
    name: str
    reading: str
    category: str
    notes: str


def describe_days(cell: str) -> str:
    """``月・木`` → ``毎週月曜日・木曜日``; ``第2・第4水`` → ``毎月第2・第4水曜日``."""
    cell = cell.strip()
    if not cell:
        return "収集はありません"
    if cell.startswith("第"):
        return f"毎月{cell}曜日"
    return "毎週" + "・".join(f"{day}曜日" for day in cell.split("・"))


_DAY_CELL = re.compile(r"^(?:第[1-5](?:・第[1-5])*[月火水木金土日]|[月火水木金土日](?:・[月火水木金土日])*)?$")


def _check_days(cell: str, where: str) -> None:
    if not _DAY_CELL.match(cell):
        raise GarbageDataError(f"{where}: 収集曜日「{cell}」を読み取れません（例：月・木、第2・第4水）。")


def _read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise GarbageDataError(f"{path.name}: 列 {', '.join(missing)} がありません。")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


class GarbageGuide:
    """Districts with their collection days and the item dictionary, with tolerant lookups."""

    def __init__(self, districts: list[District], items: list[Item], categories: list[str]):
        self.districts = districts
        self.items = items
        self.categories = categories
        self._district_names = sorted(((normalize_text(d.name), d) for d in districts), key=lambda p: -len(p[0]))
        self._district_readings = sorted(((katakana(d.reading), d) for d in districts if d.reading),
                                         key=lambda p: -len(p[0]))
        self._item_names = sorted(((normalize_text(i.name), i) for i in items), key=lambda p: -len(p[0]))
        self._item_readings = sorted(((katakana(i.reading), i) for i in items if len(katakana(i.reading)) >= 2),
                                     key=lambda p: -len(p[0]))
        words = [(normalize_text(w), c) for c, ws in CATEGORY_WORDS.items() if c in categories for w in ws]
        self._category_words = sorted(words, key=lambda p: -len(p[0]))

    @classmethod
    def load(cls, directory: str | Path) -> GarbageGuide:
        directory = Path(directory)
        area_rows = _read_rows(directory / "areas.csv", ("district", "reading"))
        categories = [c for c in area_rows[0] if c not in ("district", "reading")] if area_rows else []
        districts = []
        for line, row in enumerate(area_rows, start=2):
            if not row["district"]:
                raise GarbageDataError(f"areas.csv {line}行目: 地区名が空です。")
            for category in categories:
                _check_days(row.get(category, ""), f"areas.csv {line}行目「{category}」")
            districts.append(District(row["district"], row["reading"], {c: row.get(c, "") for c in categories}))
        items = []
        known = set(categories) | {"粗大ごみ", "市では収集できません"}
        for line, row in enumerate(_read_rows(directory / "items.csv", ("item", "reading", "category")), start=2):
            if not row["item"]:
                raise GarbageDataError(f"items.csv {line}行目: 品目名が空です。")
            if row["category"] not in known:
                raise GarbageDataError(f"items.csv {line}行目: 分別区分「{row['category']}」は areas.csv にありません。")
            items.append(Item(row["item"], row["reading"], row["category"], row.get("notes", "")))
        return cls(districts, items, categories)

    # -- lookups ---------------------------------------------------------------

    @staticmethod
    def _first(text: str, table: list, accept: Callable[[str], bool] = lambda key: True):
        return next((value for key, value in table if key and key in text and accept(key)), None)

    def find_district(self, text: str) -> District | None:
        """The district named in ``text`` (longest name first: 鷺沼台 before 鷺沼)."""
        found = self._first(normalize_text(text), self._district_names)
        if found is None:
            reading = katakana(text)
            # readings are short and common (やつ); accept them only in a short answer
            if reading and len(normalize_text(text)) <= 12:
                found = self._first(reading, self._district_readings, lambda key: len(key) >= 2)
        return found

    def find_category(self, text: str) -> str | None:
        return self._first(normalize_text(text), self._category_words)

    def find_item(self, text: str) -> Item | None:
        """The item named in ``text``: by written form (longest first), then — with the
        category words taken out, so 「…は燃えるごみ？」 does not name an item — by reading."""
        normalized = normalize_text(text)
        found = self._first(normalized, self._item_names)
        if found is None:
            for word, _category in self._category_words:
                normalized = normalized.replace(word, " ")
            found = self._reading_match(katakana(normalized))
        return found

    def _reading_match(self, kana: str) -> Item | None:
        """Readings of three kana or more anywhere; a two-kana reading (かさ) only as the
        first word of the text (「かさは何ごみ」), never inside another word (さらに)."""
        for key, item in self._item_readings:
            if len(key) >= 3 and key in kana:
                return item
            if len(key) == 2 and kana.startswith(key) and (len(kana) == 2 or kana[2] in "ハッノヲガモ"):
                return item
        return None

    def find_item_by_reading(self, reading: str) -> Item | None:
        """Lookup by the reading of the whole text (kanji written as kana by Sudachi)."""
        return self._reading_match(katakana(reading))

    def district(self, name: str) -> District | None:
        return next((d for d in self.districts if d.name == name), None)
