"""Check a maintainers' FAQ CSV before it is imported, and explain every problem in Japanese.

City-office maintainers edit the FAQ in Excel and save it as CSV (usually CP932). This
module looks at the raw bytes and reports, per row and column, everything that would make
the import fail or produce something unsafe, in terms a maintainer can act on in Excel.
A file with any error yields no entries; warnings never block.

Errors (``CheckReport.errors``):

* whole file (line 0): empty, larger than ``max_bytes``, not a CSV at all (.xlsx/.xls
  signature, PDF, UTF-16 "Unicodeテキスト"), only a header row;
* bytes that are neither UTF-8 nor CP932: one error per physical line where decoding
  fails (the file is decoded line by line to find them);
* NUL bytes (line of the first one); Excel's ``sep=,`` first line; a header that is
  blank, tab- or semicolon-separated, lacks a required column or names a column twice;
* broken quoting, a row whose number of cells differs from the header;
* empty question/answer/ID, duplicate ID (with the line of the first), a URL that is not
  ``http(s)://host/…`` or contains spaces, a cell over its length limit
  (:data:`FIELD_LIMITS`);
* spreadsheet formulas (CSV injection), control and invisible characters — see
  :func:`formula_prefix` and :data:`FORBIDDEN_CHARS`;
* row terminators that mix CRLF and LF, or bare CR (old Mac). A line feed *inside* a
  quoted cell is what Excel writes for Alt+Enter and is always fine.

Warnings (``CheckReport.warnings``): unknown or unnamed columns (ignored), two FAQs whose
normalised questions are the same or nearly the same (difflib ratio ≥ 0.9), an
``alt_questions`` entry equal to another FAQ's question, and 外字 (private-use characters).

Line numbers are 1-based *physical* lines of the start of the row (a row whose cell has
line breaks spans several lines), ``0`` for the whole file. Because Excel shows one row per
record, messages about a row or cell also name the Excel cell, e.g. 「Excelではセル C57」.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from urllib.parse import urlsplit

from retrieval.faq import (
    COLUMNS,
    REQUIRED,
    FaqEntry,
    FaqFormatError,
    RowError,
    _canonical_header,
    entry_from_values,
)
from retrieval.textnorm import normalize_text

MAX_FILE_BYTES = 20 * 1024 * 1024
#: Longest allowed cell (characters, after stripping) per canonical column.
FIELD_LIMITS = {"question": 500, "answer": 10_000}
DEFAULT_FIELD_LIMIT = 2_000
NEAR_DUPLICATE_RATIO = 0.9
#: Candidate pairs examined for near-duplicate questions before giving up (about 2 s).
SIMILARITY_BUDGET = 1_000_000

LABELS = {
    "faq_id": "ID", "question": "質問", "answer": "回答", "url": "URL",
    "category1": "カテゴリ1", "category2": "カテゴリ2", "department": "担当課",
    "updated_at": "更新日", "alt_questions": "別の聞き方", "service_name": "サービス名",
}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（BOM付き）", "cp932": "CP932"}
SAVE_AS_CSV = "Excelの「名前を付けて保存」で「CSV UTF-8 (コンマ区切り)」か「CSV (コンマ区切り)」を選んで保存し直してください"

#: Characters that may not appear in any cell: C0 controls except tab/LF/CR, DEL, C1
#: controls, line/paragraph separators, zero-width characters, BOM and bidi controls.
FORBIDDEN_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\ufeff\u202a-\u202e\u2066-\u2069]"
)
_CHAR_NAMES = {
    "\u200b": "ゼロ幅スペース", "\u200c": "ゼロ幅非接合子", "\u200d": "ゼロ幅接合子",
    "\u200e": "左横書きマーク（見えない方向制御文字）", "\u200f": "右横書きマーク（見えない方向制御文字）",
    "\u2028": "行区切り文字", "\u2029": "段落区切り文字", "\ufeff": "BOM（ゼロ幅改行なしスペース）",
    "\x7f": "DEL制御文字",
}
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
#: What Python's cp932 codec turns undefined single bytes (0x80, 0xA0, 0xFD–0xFF) into.
_CP932_UNDEFINED = re.compile("[\x80\uf8f0-\uf8f3]")
_FORMULA_START = frozenset("=+-@")
_LEADING_BLANKS = " \t\r\n\u3000"
_SEP_LINE = re.compile(r'\s*"?sep=.?"?\s*,*\s*', re.IGNORECASE)
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "Excelブック（.xlsx）などのZIP形式のファイルで、CSVではありません。"
                    "拡張子を .csv に変えるだけでは変換されません。" + SAVE_AS_CSV),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "古い形式のExcelブック（.xls）で、CSVではありません。" + SAVE_AS_CSV),
    (b"%PDF", "PDFファイルで、CSVではありません。元のExcelファイルを開き、" + SAVE_AS_CSV),
)


@dataclass
class CheckReport:
    """Outcome of checking one CSV file."""

    source: str
    encoding: str | None = None  # "utf-8", "utf-8-sig", "cp932" or None when undecodable
    layout: str | None = None  # "citybot", "kosodate" (汎用FAQ) or None when there is no header
    entries: list[FaqEntry] = field(default_factory=list)  # only when there are no errors
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    lines: int = 0  # physical lines of the decoded text
    rows: int = 0  # non-blank data rows below the header

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One Japanese line, e.g. 「エラー 3件、警告 1件（文字コード CP932、173行、FAQ 171件）」."""
        encoding = ENCODING_NAMES.get(self.encoding or "", "不明")
        detail = f"文字コード {encoding}、{self.lines}行" + (f"、FAQ {self.rows}件" if self.rows else "")
        return f"エラー {len(self.errors)}件、警告 {len(self.warnings)}件（{detail}）"

    def raise_for_errors(self) -> None:
        """Raise :class:`FaqFormatError` (as the loader does) when there is any error."""
        if self.errors:
            raise FaqFormatError(self.source, list(self.errors))


def check_faq_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> CheckReport:
    """Check a CSV file on disk, reading at most ``max_bytes + 1`` bytes of it."""
    path = Path(path)
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
            return _too_large(CheckReport(str(path)), max_bytes, info.st_size)
        raw = handle.read(max_bytes + 1)
    return check_faq_bytes(raw, str(path), max_bytes)


def check_faq_bytes(raw: bytes, source: str = "<csv>", max_bytes: int = MAX_FILE_BYTES) -> CheckReport:
    """Check the bytes of a CSV file; see the module docstring for what is reported."""
    report = CheckReport(source)
    if len(raw) > max_bytes:
        return _too_large(report, max_bytes, None)
    if not raw.removeprefix(b"\xef\xbb\xbf").strip():
        report.errors.append(RowError(0, "", "ファイルが空です。1行目に見出し（faq_id,question,answer …）、"
                                             "2行目からFAQを入力して保存してください"))
        return report
    problem = _binary_problem(raw)
    if problem:
        report.errors.append(problem)
        return report
    text, encoding, decode_errors = _decode(raw)
    report.encoding = encoding
    if text is None:
        report.errors += decode_errors
        report.lines = _count_lines(raw)
        return report
    _check_text(report, text)
    return report


# ---------------------------------------------------------------------------------------
# bytes


def _too_large(report: CheckReport, max_bytes: int, size: int | None) -> CheckReport:
    actual = f"このファイルは{_format_size(size)}です。" if size is not None else ""
    report.errors.append(RowError(0, "", (
        f"ファイルが大きすぎます（上限{_format_size(max_bytes)}）。{actual}"
        "CSVとして保存したか（画像などが入ったファイルでないか）確認し、必要なら複数のファイルに分けてください"
    )))
    return report


def _format_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + "MB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + "KB"
    return f"{size}バイト"


def _count_lines(raw: bytes | str) -> int:
    if not raw:
        return 0
    cr, lf, crlf = (b"\r", b"\n", b"\r\n") if isinstance(raw, bytes) else ("\r", "\n", "\r\n")
    breaks = raw.count(lf) + raw.count(cr) - raw.count(crlf)
    return breaks + (0 if raw.endswith((cr, lf)) else 1)


def _binary_problem(raw: bytes) -> RowError | None:
    for signature, message in _BINARY_SIGNATURES:
        if raw.startswith(signature):
            return RowError(0, "", message)
    head = raw[:4096]
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(head) >= 8 and max(head[0::2].count(0), head[1::2].count(0)) * 4 >= len(head)
    )
    if utf16:
        return RowError(0, "", "UTF-16（Excelの「Unicode テキスト」形式）で保存されています。" + SAVE_AS_CSV)
    nul = raw.find(b"\x00")
    if nul >= 0:
        return RowError(_count_lines(raw[: nul + 1]), "", (
            "NUL文字（0x00）が含まれています。CSVではないファイルか、壊れたファイルの可能性があります。"
            "元のExcelファイルを開き、" + SAVE_AS_CSV
        ))
    return None


def _decode(raw: bytes) -> tuple[str | None, str | None, list[RowError]]:
    """Decode like :func:`retrieval.faq.decode_csv_bytes`, but find the broken lines when it fails.

    A file that is not valid UTF-8 but whose non-ASCII lines mostly *are* valid UTF-8 is
    treated as UTF-8 with broken bytes, even if it happens to decode as CP932 (which would
    only produce 文字化け).
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError:
            return None, None, _decode_errors(_scan_lines(raw[3:], "utf-8")[0], "utf-8")
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    utf8_bad, utf8_good = _scan_lines(raw, "utf-8")
    if utf8_good > len(utf8_bad):
        return None, None, _decode_errors(utf8_bad, "utf-8")
    try:
        text = raw.decode("cp932")
        if not _CP932_UNDEFINED.search(text):
            return text, "cp932", []
    except UnicodeDecodeError:
        pass
    cp932_bad, _ = _scan_lines(raw, "cp932")
    if len(utf8_bad) < len(cp932_bad):
        return None, None, _decode_errors(utf8_bad, "utf-8")
    return None, None, _decode_errors(cp932_bad, "cp932")


def _scan_lines(raw: bytes, encoding: str) -> tuple[list[tuple[int, bytes]], int]:
    """Decode line by line: ([(line, offending bytes)], number of good non-ASCII lines)."""
    bad: list[tuple[int, bytes]] = []
    good = 0
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError as exc:
            bad.append((number, line[exc.start: exc.start + 2]))
            continue
        undefined = _CP932_UNDEFINED.search(text) if encoding == "cp932" else None
        if undefined:
            offset = len(text[: undefined.start()].encode("cp932"))
            bad.append((number, line[offset: offset + 1]))
        elif not line.isascii():
            good += 1
    return bad, good


def _decode_errors(bad: list[tuple[int, bytes]], encoding: str) -> list[RowError]:
    name = "UTF-8" if encoding == "utf-8" else "Shift_JIS(CP932)"
    errors = [
        RowError(line, "", (
            f"文字コード {name} として読めないバイト（{' '.join(f'0x{b:02X}' for b in chunk)}）があります。"
            "文字が壊れています。この行の文字化けしている部分を入力し直して保存してください"
        ))
        for line, chunk in bad
    ]
    return errors or [RowError(0, "", "文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")]


# ---------------------------------------------------------------------------------------
# text


class _Lines:
    """Physical lines for :mod:`csv`, remembering how many were read and how the last ended."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.count = 0
        self.ending = ""

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        self.ending = next((e for e in ("\r\n", "\n", "\r") if line.endswith(e)), "")
        return line


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _excel_row(record: int) -> str:
    return f"（Excelでは{record}行目）"


def _excel_cell(index: int, record: int) -> str:
    return f"（Excelではセル {_column_letter(index)}{record}）"


def formula_prefix(value: str) -> str | None:
    """The character that would make Excel treat ``value`` as a formula, or None.

    A value is rejected when its first character after spaces (half/full width), tabs and
    line breaks is ``= + - @`` or a full-width / compatibility form of them (＝＋－＠ …,
    anything NFKC folds to those four). The rule is deliberately simple and strict: a
    negative number such as ``-1`` or a bullet such as ``- 住民票`` is rejected too, in every
    column, because a cell that is harmless here may end up in a spreadsheet again.
    """
    stripped = value.lstrip(_LEADING_BLANKS)
    if stripped and unicodedata.normalize("NFKC", stripped[0])[:1] in _FORMULA_START:
        return stripped[0]
    return None


def _char_name(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    if ch in _CHAR_NAMES:
        return f"{code} {_CHAR_NAMES[ch]}"
    if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
        return f"{code} 文字の向きを変える見えない制御文字"
    return f"{code} 制御文字"


def _cell_problems(value: str, column: str) -> list[str]:
    """Messages about one raw cell of a known column: invisible characters and formulas."""
    problems = []
    bad = FORBIDDEN_CHARS.search(value)
    if bad:
        count = len(FORBIDDEN_CHARS.findall(value))
        problems.append(
            f"制御文字（{_char_name(bad.group())}）が{bad.start() + 1}文字目に含まれています"
            + (f"（ほかに{count - 1}個）" if count > 1 else "")
            + "。Webページやメールからコピーした文字に紛れ込むことがあります。"
              "セルの内容を削除して、手で入力し直してください"
        )
    prefix = formula_prefix(value)
    if prefix:
        problems.append(
            f"「{prefix}」で始まるセルは、Excelで開くと数式として実行される危険があるため使えません。"
            "先頭の記号を「・」などに書き換えるか、文章から始めてください"
            "（Excelで先頭に ' を付けても、CSVに保存すると ' は消えるため直りません）"
        )
    if column == "alt_questions" and not prefix:
        for alt in value.split("|"):
            alt_prefix = formula_prefix(alt)
            if alt_prefix:
                problems.append(
                    f"別の聞き方「{alt.strip()[:20]}」が「{alt_prefix}」で始まっています。数式として扱われる危険が"
                    "あるため、先頭の記号を消すか文章から始めてください"
                )
                break
    return problems


def _url_problem(url: str) -> str | None:
    if any(ch.isspace() for ch in url):
        return ("URLに空白や改行が含まれています。URLは1つだけ、空白なしで入力してください"
                "（ブラウザのアドレス欄からコピーすると確実です）")
    if not url.startswith(("http://", "https://")):
        return "URLは http:// または https:// で始めてください（javascript: などは使えません）"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "URLの形式が正しくありません。ブラウザのアドレス欄からコピーし直してください"
    if not parts.hostname:
        return "URLにホスト名（www.city.example.jp など）がありません。ブラウザのアドレス欄からコピーし直してください"
    return None


def _check_text(report: CheckReport, text: str) -> None:
    report.lines = _count_lines(text)
    if not text.replace("\ufeff", "").strip():
        report.errors.append(RowError(0, "", "ファイルが空です（空白と改行しかありません）。1行目に見出し"
                                             "（faq_id,question,answer …）、2行目からFAQを入力して保存してください"))
        return
    errors, warnings = report.errors, report.warnings
    lines = _Lines(text)
    first_line = re.match(r"[^\r\n]*", text).group()
    if _SEP_LINE.fullmatch(first_line):
        errors.append(RowError(1, "", (
            f"1行目の「{first_line.strip()}」は見出しではありません（Excel用の区切り文字の指定です）。"
            "メモ帳などのテキストエディタで開いて1行目を削除し、見出し（faq_id,question,answer …）が1行目になるように"
            "してください（Excelではこの行は表示されません）"
        )))
        next(lines)

    reader = csv.reader(lines, strict=True)
    terminators: list[tuple[str, int]] = []
    records: list[tuple[int, int, list[str]]] = []  # (start line, Excel row, cells)
    while True:
        start = lines.count + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(_quote_error(str(exc), start, len(records) + 1))
            break
        records.append((start, len(records) + 1, cells))
        if lines.ending:
            terminators.append((lines.ending, lines.count))
    if not records:
        return

    header_line, _, header = records[0]
    columns = _check_header(report, header, header_line)
    if columns is None:
        return
    report.layout = "kosodate" if "service_name" in columns and "url" not in columns else "citybot"

    seen_ids: dict[str, int] = {}
    valid: list[tuple[int, FaqEntry]] = []
    for line, record, cells in records[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        report.rows += 1
        if len(cells) != len(columns):
            errors.append(RowError(line, "", (
                f"列の数が見出しと合いません（見出し{len(columns)}列、この行{len(cells)}列）{_excel_row(record)}。"
                "セルの中にコンマ（,）や改行があるのに \" で囲まれていないか、余分なコンマがないか確認してください。"
                "Excelで開いて保存し直すと直ることがあります"
            )))
            continue
        row_errors: list[RowError] = []
        values: dict[str, str] = {}
        for index, (column, cell) in enumerate(zip(columns, cells, strict=True)):
            if column not in COLUMNS or column in values:
                continue
            where = _excel_cell(index, record)
            row_errors += [RowError(line, column, message + where) for message in _cell_problems(cell, column)]
            value = values[column] = cell.strip()
            limit = FIELD_LIMITS.get(column, DEFAULT_FIELD_LIMIT)
            if len(value) > limit:
                row_errors.append(RowError(line, column, (
                    f"長すぎます（{len(value)}文字。「{LABELS[column]}」は{limit}文字まで）{where}。"
                    "短くするか、詳しい説明は関連ページ（url）に載せてください"
                )))
            if _PRIVATE_USE.search(value):
                ch = _PRIVATE_USE.search(value).group()
                warnings.append(RowError(line, column, (
                    f"外字（U+{ord(ch):04X}）が含まれています。チャットボットでは正しく表示されません。"
                    f"通常の文字に置き換えてください{where}"
                )))
        for column in REQUIRED:
            if column in columns and not values.get(column):
                row_errors.append(RowError(line, column, (
                    f"空欄です。「{LABELS[column]}」は必ず入力してください{_excel_cell(columns.index(column), record)}"
                )))
        url = values.get("url", "")
        problem = _url_problem(url) if url else None
        if problem:
            row_errors.append(RowError(line, "url", problem + _excel_cell(columns.index("url"), record)))
        faq_id = values.get("faq_id", "")
        if faq_id:
            key = unicodedata.normalize("NFKC", faq_id)
            if key in seen_ids:
                row_errors.append(RowError(line, "faq_id", (
                    f"ID「{faq_id}」が重複しています（{seen_ids[key]}行目と同じ"
                    + ("。全角と半角の違いは同じIDとみなします" if key != faq_id else "") + "）。"
                    f"どちらかを別のIDにしてください{_excel_cell(columns.index('faq_id'), record)}"
                )))
            else:
                seen_ids[key] = line
        errors += row_errors
        if not row_errors and all(c in columns for c in REQUIRED):
            valid.append((line, entry_from_values(values)))

    if report.rows == 0:
        errors.append(RowError(0, "", "見出し行しかなく、FAQのデータ行がありません。2行目からFAQを入力してください"))
    _check_terminators(report, terminators)
    _duplicate_question_warnings(report, valid)
    if not errors:
        report.entries = [entry for _, entry in valid]


def _quote_error(detail: str, line: int, record: int) -> RowError:
    if "field larger than field limit" in detail:
        message = "セルが長すぎて読めません（引用符 \" が閉じられていない可能性があります）"
    elif "unexpected end of data" in detail:
        message = "この行のセルで開いた引用符（\"）が閉じられないまま、ファイルが終わっています"
    else:
        message = "引用符（\"）の対応が崩れています（この行のセルで \" が閉じられていないか、\"…\" の後ろにコンマ以外の文字があります）"
    return RowError(line, "", (
        f"{message}{_excel_row(record)}。セルの中の \" は \"\" と2つ重ねて書きます。"
        "Excelで開いて保存し直すと直ることがあります。これより後の行は確認できていません"
    ))


def _check_header(report: CheckReport, header: list[str], line: int) -> list[str] | None:
    """Canonical column names, or None when the header is unusable."""
    errors, warnings = report.errors, report.warnings
    if not any(cell.strip() for cell in header):
        errors.append(RowError(line, "", (
            f"{line}行目が空です。見出し（faq_id,question,answer …）を{line}行目に書き、空の行を削除してください"
        )))
        return None
    if len(header) == 1:
        separator = next((name for sep, name in (("\t", "タブ"), (";", "セミコロン（;）")) if sep in header[0]), None)
        if separator:
            errors.append(RowError(line, "", (
                f"区切り文字が{separator}になっています。コンマ区切りのCSVにしてください。{SAVE_AS_CSV}"
            )))
            return None
    columns = [_canonical_header(name) for name in header]
    first: dict[str, int] = {}
    unnamed: list[str] = []
    for index, (name, column) in enumerate(zip(header, columns, strict=True)):
        where = _excel_cell(index, 1)
        for message in _cell_problems(name, ""):
            errors.append(RowError(line, column, "見出しに" + message + where))
        if column in COLUMNS:
            if column in first:
                errors.append(RowError(line, column, (
                    f"同じ意味の列が2つあります（「{header[first[column]]}」と「{name}」）。どちらかを削除してください{where}"
                )))
            else:
                first[column] = index
        elif not name.strip():
            unnamed.append(_column_letter(index))
        else:
            warnings.append(RowError(line, name.strip(), (
                f"知らない列名なので、この列は読み込みません。使える列名: {', '.join(COLUMNS)}{where}"
            )))
    if unnamed:
        warnings.append(RowError(line, "", f"見出しが空の列（{'、'.join(unnamed)}列）は読み込みません"))
    for column in REQUIRED:
        if column not in first:
            errors.append(RowError(line, column, (
                f"必須の列「{column}」（{LABELS[column]}）がありません。"
                f"1行目の見出しに {column} または「{LABELS[column]}」という列を追加してください"
            )))
    return columns


def _check_terminators(report: CheckReport, terminators: list[tuple[str, int]]) -> None:
    first: dict[str, int] = {}
    for ending, line in terminators:
        first.setdefault(ending, line)
    if "\r" in first:
        report.errors.append(RowError(first["\r"], "", (
            "改行コードがCRだけ（古いMacの形式）になっています。"
            + SAVE_AS_CSV.replace("保存し直してください", "Windowsの形式で保存し直してください")
        )))
    if "\r\n" in first and "\n" in first:
        crlf, lf = first["\r\n"], first["\n"]
        report.errors.append(RowError(max(crlf, lf), "", (
            f"改行コードが混在しています（CRLF: {crlf}行目、LF: {lf}行目から）。"
            "メモ帳など別のソフトで一部の行を編集すると起こります。Excelで開いて" + SAVE_AS_CSV.removeprefix("Excelの")
        )))


# ---------------------------------------------------------------------------------------
# warnings about questions


class SearchIncomplete(Exception):
    """:func:`similar_pairs` ran out of budget; ``pairs`` holds what was found until then."""

    def __init__(self, pairs: list[tuple[int, int, float]]) -> None:
        super().__init__(f"{len(pairs)} pairs before the budget ran out")
        self.pairs = pairs


def _duplicate_question_warnings(report: CheckReport, valid: list[tuple[int, FaqEntry]]) -> None:
    normalized = [normalize_text(entry.question) for _, entry in valid]
    try:
        pairs = similar_pairs(normalized, NEAR_DUPLICATE_RATIO, SIMILARITY_BUDGET)
    except SearchIncomplete as incomplete:
        pairs = incomplete.pairs
        report.warnings.append(RowError(0, "question", (
            "似た質問が多すぎるため、似た質問の確認を途中で打ち切りました。ファイルを分野ごとに分けると全部確認できます"
        )))
    for i, j, ratio in pairs:
        (first_line, first), (line, entry) = valid[i], valid[j]
        if first.faq_id == entry.faq_id:
            continue
        how = "同じです" if ratio == 1.0 else f"ほぼ同じです（類似度 {ratio:.2f}）"
        report.warnings.append(RowError(line, "question", (
            f"質問が ID {first.faq_id}（{first_line}行目）と{how}。同じ内容なら1つにまとめ、"
            "言い方の違いは alt_questions（別の聞き方）に書いてください"
        )))
    owner = {}
    for (line, entry), question in zip(valid, normalized, strict=True):
        owner.setdefault(question, (entry.faq_id, line))
    for line, entry in valid:
        for alt in entry.alt_questions:
            faq_id, other_line = owner.get(normalize_text(alt), (entry.faq_id, 0))
            if faq_id != entry.faq_id:
                report.warnings.append(RowError(line, "alt_questions", (
                    f"別の聞き方「{alt}」が ID {faq_id}（{other_line}行目）の質問と同じです。"
                    "どちらのFAQが答えるべきか決めて、片方から削除してください"
                )))


def similar_pairs(
    texts: list[str], threshold: float = NEAR_DUPLICATE_RATIO, budget: int | None = None,
) -> list[tuple[int, int, float]]:
    """All pairs ``(i, j, ratio)``, ``i < j``, with ``SequenceMatcher(None, texts[i], texts[j]).ratio() >= threshold``.

    Identical texts get ratio 1.0. Instead of comparing all pairs, candidates come from a
    prefix filter on character bigrams, which provably loses no pair for ``threshold > 2/3``:
    if the matching blocks cover ``M >= threshold * (a + b) / 2`` characters, then there are
    at most ``a + b - 2M + 1`` blocks, so the strings share at least
    ``3M - (a + b) - 1`` bigrams (counted with multiplicity), and their lengths differ by at
    most the factor ``threshold / (2 - threshold)``. Each text therefore only has to index
    its rarest ``n - t + 1`` bigrams, where ``t`` is the least overlap any partner of
    acceptable length must have. Pairs found are verified with the real ratio.

    Many texts built from the same template can still make the candidates quadratic:
    with ``budget`` the search stops after that many candidate pairs and raises
    :class:`SearchIncomplete` carrying the pairs found so far.
    """
    if not 2 / 3 < threshold <= 1:
        raise ValueError("threshold must be in (2/3, 1]")
    pairs: dict[tuple[int, int], float] = {}
    by_text: dict[str, int] = {}
    for j, text in enumerate(texts):
        if text in by_text:
            pairs[(by_text[text], j)] = 1.0
        else:
            by_text[text] = j
    tokens: list[list[tuple[str, int]]] = []
    frequency: dict[tuple[str, int], int] = defaultdict(int)
    for text in texts:
        counts: dict[str, int] = defaultdict(int)
        grams = []
        for k in range(len(text) - 1):
            gram = text[k: k + 2]
            grams.append((gram, counts[gram]))
            counts[gram] += 1
        tokens.append(grams)
        for token in grams:
            frequency[token] += 1
    token_sets = [frozenset(grams) for grams in tokens]
    lengths = [len(text) for text in texts]
    overlap_factor = (3 * threshold - 2) / (2 - threshold)
    pair_factor = 3 * threshold / 2 - 1
    length_factor = threshold / (2 - threshold)
    index: dict[tuple[str, int], list[int]] = defaultdict(list)
    unfiltered: list[int] = []  # texts too short for the bound: compared with everything
    matcher = SequenceMatcher(None)
    examined = 0
    for j, grams in enumerate(tokens):
        size = len(texts[j])
        least = math.ceil(overlap_factor * size - 1 - 1e-9)
        if least < 1:
            candidates = set(range(j))
            unfiltered.append(j)
        else:
            prefix = sorted(grams, key=lambda token: (frequency[token], token))[: len(grams) - least + 1]
            candidates = {i for token in prefix for i in index[token]}
            candidates.update(unfiltered)
            for token in prefix:
                index[token].append(j)
        matcher.set_seq2(texts[j])
        shortest, longest = length_factor * size - 1e-9, size / length_factor + 1e-9
        own = token_sets[j]
        examined += len(candidates)
        if budget is not None and examined > budget:
            raise SearchIncomplete(sorted((i, j, ratio) for (i, j), ratio in pairs.items()))
        for i in candidates:
            other = lengths[i]
            if not shortest <= other <= longest or (i, j) in pairs:
                continue
            if len(token_sets[i] & own) < pair_factor * (size + other) - 1 - 1e-9:
                continue  # too few shared bigrams for this pair (see above)
            matcher.set_seq1(texts[i])
            if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold:
                ratio = matcher.ratio()
                if ratio >= threshold:
                    pairs[(i, j)] = ratio
    return sorted((i, j, ratio) for (i, j), ratio in pairs.items())
