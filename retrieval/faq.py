"""FAQ entries and the maintainers' CSV files.

Reads UTF-8, UTF-8 with BOM and CP932 (Excel in Japanese offices), in the citybot
layout (``faq_id, question, answer, url, category1, category2, department,
updated_at, alt_questions``) or the 子育てオープンデータ協議会 汎用FAQ layout
(``faq_id, question, answer, category1, category2, service_name``). Japanese header
aliases (質問, 回答, URL, 担当課 …) are accepted. Problems are reported per row in
Japanese with the line number; a file with any error yields no entries.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED = ("faq_id", "question", "answer")
COLUMNS = (
    "faq_id", "question", "answer", "url", "category1", "category2",
    "department", "updated_at", "alt_questions", "service_name",
)
HEADER_ALIASES = {
    "id": "faq_id", "no": "faq_id", "番号": "faq_id", "faq番号": "faq_id", "faqid": "faq_id",
    "質問": "question", "質問文": "question", "問い": "question",
    "回答": "answer", "回答文": "answer", "答え": "answer",
    "リンク": "url", "関連url": "url", "関連ページ": "url",
    "カテゴリ": "category1", "カテゴリ1": "category1", "大分類": "category1",
    "カテゴリ2": "category2", "中分類": "category2",
    "担当課": "department", "担当": "department", "所管課": "department",
    "更新日": "updated_at", "別の聞き方": "alt_questions", "言い換え": "alt_questions",
    "サービス名": "service_name",
}
MAX_FIELD = 10_000


@dataclass(frozen=True)
class FaqEntry:
    """One question/answer pair as the maintainers wrote it."""

    faq_id: str
    question: str
    answer: str
    url: str = ""
    category1: str = ""
    category2: str = ""
    department: str = ""
    updated_at: str = ""
    alt_questions: tuple[str, ...] = ()
    service_name: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of everything that is embedded or indexed for this entry."""
        raw = "\x1f".join((self.question, self.answer, *self.alt_questions))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]

    def to_dict(self) -> dict:
        return {
            "faq_id": self.faq_id, "question": self.question, "answer": self.answer,
            "url": self.url, "category1": self.category1, "category2": self.category2,
            "department": self.department, "updated_at": self.updated_at,
            "alt_questions": list(self.alt_questions), "service_name": self.service_name,
        }

    @classmethod
    def from_dict(cls, data: dict) -> FaqEntry:
        return cls(**(data | {"alt_questions": tuple(data.get("alt_questions", ()))}))


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.line}行目" + (f"「{self.column}」列" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class FaqFormatError(ValueError):
    """A CSV that cannot be imported; ``errors`` lists every problem found."""

    source: str
    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"{self.source}: {len(self.errors)}件の問題があります"
        return "\n".join([head, *(f"  - {e}" for e in self.errors[:50])])


def decode_csv_bytes(raw: bytes, source: str = "<csv>") -> tuple[str, str]:
    """Return (text, encoding name): UTF-8 with BOM, UTF-8, then CP932."""
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = (("utf-8-sig", raw[3:]),)
    else:
        candidates = (("utf-8", raw), ("cp932", raw))
    for encoding, body in candidates:
        try:
            return body.decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FaqFormatError(source, [RowError(0, "", "文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")])


def _canonical_header(name: str) -> str:
    key = name.strip().lower().replace(" ", "").replace("_", "").replace("　", "")
    for column in COLUMNS:
        if key == column.replace("_", ""):
            return column
    return HEADER_ALIASES.get(key, name.strip())


def entry_from_values(values: dict[str, str]) -> FaqEntry:
    """Build an entry from stripped cell values keyed by canonical column name.

    ``alt_questions`` is split on ``|``; missing optional columns become empty.
    Shared by :func:`parse_faq_csv` and :mod:`retrieval.faq_check`.
    """
    alts = tuple(a.strip() for a in values.get("alt_questions", "").split("|") if a.strip())
    return FaqEntry(
        faq_id=values["faq_id"], question=values["question"], answer=values["answer"],
        url=values.get("url", ""), category1=values.get("category1", ""), category2=values.get("category2", ""),
        department=values.get("department", ""), updated_at=values.get("updated_at", ""),
        alt_questions=alts, service_name=values.get("service_name", ""),
    )


def parse_faq_csv(text: str, source: str = "<csv>") -> list[FaqEntry]:
    """Parse CSV text into entries; raise :class:`FaqFormatError` listing every problem."""
    reader = csv.reader(io.StringIO(text, newline=""))
    errors: list[RowError] = []
    try:
        header = next(reader)
    except StopIteration:
        raise FaqFormatError(source, [RowError(1, "", "ファイルが空です")]) from None
    columns = [_canonical_header(h) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FaqFormatError(source, [RowError(1, c, "必須の列がありません") for c in missing])
    entries: list[FaqEntry] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            errors.append(RowError(line, "", f"列の数が見出しと合いません（見出し{len(columns)}列、この行{len(row)}列）"))
            continue
        values = {c: v.strip() for c, v in zip(columns, row, strict=True) if c in COLUMNS}
        row_errors = [RowError(line, c, "空欄です") for c in REQUIRED if not values.get(c)]
        row_errors += [RowError(line, c, f"長すぎます（{MAX_FIELD}文字まで）") for c, v in values.items() if len(v) > MAX_FIELD]
        url = values.get("url", "")
        if url and not url.startswith(("http://", "https://")):
            row_errors.append(RowError(line, "url", "URLは http:// または https:// で始めてください"))
        faq_id = values.get("faq_id", "")
        if faq_id in seen:
            row_errors.append(RowError(line, "faq_id", f"IDが重複しています（{seen[faq_id]}行目と同じ）"))
        if row_errors:
            errors += row_errors
            continue
        seen[faq_id] = line
        entries.append(entry_from_values(values))
    if errors:
        raise FaqFormatError(source, errors)
    return entries


def load_faq_csv(path: str | Path) -> list[FaqEntry]:
    """Load one FAQ CSV file (UTF-8, UTF-8-BOM or CP932)."""
    path = Path(path)
    text, _ = decode_csv_bytes(path.read_bytes(), str(path))
    return parse_faq_csv(text, str(path))


def load_faq_paths(paths: Iterable[str | Path]) -> list[FaqEntry]:
    """Load CSV files and directories of CSV files; ids must be unique across them."""
    entries: list[FaqEntry] = []
    origin: dict[str, str] = {}
    errors: list[RowError] = []
    for path in paths:
        path = Path(path)
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        for file in files:
            for entry in load_faq_csv(file):
                if entry.faq_id in origin:
                    errors.append(RowError(0, "faq_id", f"ID {entry.faq_id} が {origin[entry.faq_id]} と {file} の両方にあります"))
                origin[entry.faq_id] = str(file)
                entries.append(entry)
    if errors:
        raise FaqFormatError(", ".join(str(p) for p in paths), errors)
    return entries
