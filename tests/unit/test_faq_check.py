"""FAQ CSV validator: every malformed fixture gets a row-level Japanese error, valid files pass."""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import time
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from retrieval import faq_check
from retrieval.faq import FaqFormatError, load_faq_csv, parse_faq_csv
from retrieval.faq_check import (
    MAX_FILE_BYTES,
    CheckReport,
    check_faq_bytes,
    check_faq_file,
    formula_prefix,
    similar_pairs,
)
from tests.conftest import KOSODATE_CSV, REPO, TINY_FAQ

BAD = REPO / "tests" / "fixtures" / "bad_csv"
RESIDENT = sorted((REPO / "data" / "faq" / "resident").glob("*.csv"))

#: fixture file -> (line, column, substring of the message, number of errors)
EXPECTED: dict[str, tuple[int, str, str, int]] = {
    # whole file
    "empty.csv": (0, "", "ファイルが空です", 1),
    "bom_and_blank_lines.csv": (0, "", "ファイルが空です", 1),
    "only_header.csv": (0, "", "見出し行しかなく", 1),
    "xlsx_signature.csv": (0, "", "Excelブック（.xlsx）", 1),
    "xls_ole2_signature.csv": (0, "", "古い形式のExcelブック（.xls）", 1),
    "pdf.csv": (0, "", "PDFファイル", 1),
    "nul_bytes.csv": (4, "", "NUL文字", 1),
    "utf16le_bom.csv": (0, "", "UTF-16", 1),
    "utf16le_no_bom.csv": (0, "", "UTF-16", 1),
    # encoding
    "cp932_broken_bytes.csv": (3, "", "Shift_JIS(CP932) として読めないバイト（0x82 0xFF）", 1),
    "cp932_undefined_byte.csv": (2, "", "Shift_JIS(CP932) として読めないバイト（0xFD）", 1),
    "utf8_broken_bytes.csv": (3, "", "UTF-8 として読めないバイト", 1),
    # header
    "sep_line.csv": (1, "", "1行目の「sep=,」は見出しではありません", 1),
    "tab_delimited.csv": (1, "", "区切り文字がタブ", 1),
    "leading_blank_line.csv": (1, "", "1行目が空です", 1),
    "missing_answer_column.csv": (1, "answer", "必須の列「answer」", 1),
    "duplicate_header_column.csv": (1, "question", "同じ意味の列が2つあります", 1),
    # structure
    "column_count_mismatch.csv": (3, "", "列の数が見出しと合いません（見出し9列、この行10列）", 1),
    "unclosed_quote.csv": (6, "", "閉じられないまま、ファイルが終わっています（Excelでは4行目）", 1),
    "text_after_closing_quote.csv": (3, "", "引用符（\"）の対応が崩れています", 1),
    "mixed_newlines.csv": (3, "", "改行コードが混在しています（CRLF: 1行目、LF: 3行目から）", 1),
    "bare_cr_newlines.csv": (1, "", "改行コードがCRだけ", 1),
    # formulas
    "formula_equals_sum.csv": (3, "answer", "「=」で始まるセル", 1),
    "formula_plus_cmd.csv": (2, "question", "「+」で始まるセル", 1),
    "formula_minus_arithmetic.csv": (2, "answer", "「-」で始まるセル", 1),
    "formula_at_sum.csv": (2, "department", "「@」で始まるセル", 1),
    "formula_fullwidth_equals.csv": (2, "answer", "「＝」で始まるセル", 1),
    "formula_after_tab_and_space.csv": (2, "category1", "「=」で始まるセル", 1),
    "formula_negative_number.csv": (2, "category2", "「-」で始まるセル", 1),
    "formula_in_alt_question.csv": (2, "alt_questions", "別の聞き方「=cmd", 1),
    # invisible characters
    "control_char_bel.csv": (2, "answer", "制御文字（U+0007", 1),
    "zero_width_space.csv": (2, "question", "U+200B ゼロ幅スペース", 1),
    "bidi_override.csv": (2, "answer", "U+202E 文字の向きを変える", 1),
    "line_separator.csv": (2, "answer", "U+2028 行区切り文字", 1),
    # row content
    "duplicate_id.csv": (4, "faq_id", "ID「R-1」が重複しています（2行目と同じ）", 1),
    "duplicate_id_fullwidth.csv": (3, "faq_id", "全角と半角の違いは同じIDとみなします", 1),
    "empty_question.csv": (3, "question", "空欄です", 1),
    "empty_answer.csv": (2, "answer", "空欄です", 1),
    "url_javascript.csv": (2, "url", "http:// または https:// で始めて", 1),
    "url_with_spaces.csv": (2, "url", "空白や改行", 1),
    "url_without_host.csv": (2, "url", "ホスト名", 1),
    "long_question.csv": (2, "question", "501文字。「質問」は500文字まで", 1),
    "long_answer.csv": (2, "answer", "「回答」は10000文字まで", 1),
    "long_category.csv": (2, "category1", "「カテゴリ1」は2000文字まで", 1),
    "error_after_multiline_cell.csv": (6, "answer", "空欄です。「回答」は必ず入力してください（Excelではセル C4）", 1),
}


def _generator():
    spec = importlib.util.spec_from_file_location("make_bad_csv_fixtures", BAD / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------
# malformed files


def test_fixture_files_are_generated_and_all_expected():
    fixtures = _generator().FIXTURES
    on_disk = {path.name for path in BAD.glob("*.csv")}
    assert on_disk == set(fixtures) == set(EXPECTED)
    assert len(on_disk) >= 22
    stale = [name for name, data in fixtures.items() if (BAD / name).read_bytes() != data]
    assert not stale, f"run tests/fixtures/bad_csv/make_fixtures.py again: {stale}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_fixture_is_reported_per_row(name):
    line, column, text, count = EXPECTED[name]
    report = check_faq_file(BAD / name)
    assert not report.ok and report.entries == []
    matching = [e for e in report.errors if (e.line, e.column) == (line, column) and text in e.message]
    assert matching, f"{name}: expected ({line}, {column!r}, {text!r}) in {[str(e) for e in report.errors]}"
    assert len(report.errors) == count, [str(e) for e in report.errors]
    where = f"{line}行目" + (f"「{column}」列" if column else "")
    assert str(matching[0]).startswith(where)
    assert report.summary().startswith(f"エラー {count}件")


def test_bad_fixtures_never_yield_entries_through_bytes_api_either():
    for name in EXPECTED:
        report = check_faq_bytes((BAD / name).read_bytes(), name)
        assert report.source == name and report.errors and not report.entries


def test_fifty_megabyte_file_is_rejected_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.csv"
    chunk = (TINY_FAQ.splitlines()[1] + "\r\n").encode("utf-8") * 4096
    with path.open("wb") as handle:
        handle.write(TINY_FAQ.splitlines()[0].encode() + b"\r\n")
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)
    read = []
    real_open = open

    class CountingFile:
        def __init__(self, *args, **kwargs):
            self._file = real_open(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

        def fileno(self):
            return self._file.fileno()

        def read(self, size=-1):
            data = self._file.read(size)
            read.append(len(data))
            return data

    monkeypatch.setattr(faq_check, "open", CountingFile, raising=False)
    started = time.perf_counter()
    report = check_faq_file(path)
    elapsed = time.perf_counter() - started
    assert [(e.line, e.column) for e in report.errors] == [(0, "")]
    assert "ファイルが大きすぎます（上限20MB）" in report.errors[0].message
    assert "50" in report.errors[0].message  # the actual size is named
    assert sum(read) <= MAX_FILE_BYTES + 1
    assert elapsed < 2.0


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_unbounded_stream_is_read_only_up_to_the_limit():
    started = time.perf_counter()
    report = check_faq_file("/dev/zero", max_bytes=1024 * 1024)
    assert "ファイルが大きすぎます（上限1MB）" in report.errors[0].message
    assert time.perf_counter() - started < 2.0


def test_size_limit_applies_to_bytes_too():
    raw = TINY_FAQ.encode("utf-8")
    assert check_faq_bytes(raw, max_bytes=len(raw)).ok
    report = check_faq_bytes(raw, max_bytes=len(raw) - 1)
    assert "ファイルが大きすぎます" in report.errors[0].message


@pytest.mark.parametrize("char", ["\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f", "\u2029",
                                  "\u200c", "\u200d", "\u200e", "\ufeff", "\u202a", "\u2066", "\u2069"])
def test_every_forbidden_character_is_an_error(char):
    text = TINY_FAQ.replace("事前申込制です", f"事前{char}申込制です")
    report = check_faq_bytes(text.encode("utf-8"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "answer")]
    assert f"U+{ord(char):04X}" in report.errors[0].message


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@A1", " =1", "\t=1", "\r=1", "\n-1", "　＝1", "＋1", "－1",
                                   "＠A1", "﹦1"])
def test_formula_prefixes(value):
    assert formula_prefix(value) is not None


@pytest.mark.parametrize("value", ["・住民票", "マイナス1", "1-2", "e=mc2", "", "   ", "「=」の記号", "ー（長音）"])
def test_ordinary_text_is_not_a_formula(value):
    assert formula_prefix(value) is None


def test_formula_in_quoted_cell_after_carriage_return_is_an_error():
    text = TINY_FAQ.replace("粗大ごみは事前申込制です。", '"\r=HYPERLINK(""http://x"")粗大ごみは事前申込制です。')
    text = text.replace("ください。,https://www.city.example.jp/kurashi/gomi", 'ください。",https://www.city.example.jp/kurashi/gomi')
    report = check_faq_bytes(text.encode("utf-8"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "answer")]


def test_sep_line_does_not_shift_later_line_numbers():
    text = "sep=,\n" + TINY_FAQ.replace("中央図書館は午前9時30分から午後7時まで開館しています。", "")
    report = check_faq_bytes(text.encode("cp932"))
    assert [(e.line, e.column) for e in report.errors] == [(1, ""), (5, "answer")]
    assert "Excelではセル C4" in report.errors[1].message  # Excel hides the sep= line


def test_more_than_one_broken_line_is_listed():
    lines = TINY_FAQ.encode("cp932").split(b"\n")
    lines[1] += b"\x81\x20"
    lines[3] += b"\xfe"
    report = check_faq_bytes(b"\n".join(lines))
    assert report.encoding is None
    assert [e.line for e in report.errors] == [2, 4]


def test_utf8_file_that_happens_to_decode_as_cp932_is_not_mojibake():
    text = "faq_id,question,answer\n1,図書館のカウンタ,図書館のメモ\n2,役所の課,課のカウンタ\n3,メモ,メモのアイコン\n"
    raw = text.encode("utf-8").replace(b"\n3,", b"\n3,\xa1")  # one stray byte on line 4
    assert raw.decode("cp932").startswith("faq_id,question,answer\n1,蝗ｳ譖ｸ鬢ｨ")  # the loader's 文字化け
    report = check_faq_bytes(raw)
    assert report.encoding is None
    assert [(e.line, "UTF-8 として読めない" in e.message) for e in report.errors] == [(4, True)]


def test_raise_for_errors_matches_the_loader_exception():
    report = check_faq_file(BAD / "duplicate_id.csv")
    with pytest.raises(FaqFormatError) as info:
        report.raise_for_errors()
    assert "4行目「faq_id」列" in str(info.value)
    check_faq_bytes(TINY_FAQ.encode()).raise_for_errors()


# --------------------------------------------------------------------------------------
# valid files


@pytest.mark.parametrize("path", RESIDENT, ids=lambda p: p.name)
def test_resident_csvs_pass(path):
    report = check_faq_file(path)
    assert report.errors == [], [str(e) for e in report.errors]
    assert (report.encoding, report.layout) == ("utf-8", "citybot")
    assert report.entries == load_faq_csv(path)
    assert report.rows == len(report.entries) > 0


def test_cp932_and_bom_copies_give_identical_entries(tmp_path):
    original = RESIDENT[0]
    text = original.read_text(encoding="utf-8")
    (tmp_path / "cp932.csv").write_bytes(text.encode("cp932"))
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    cp932 = check_faq_file(tmp_path / "cp932.csv")
    bom = check_faq_file(tmp_path / "bom.csv")
    assert (cp932.encoding, bom.encoding) == ("cp932", "utf-8-sig")
    assert cp932.ok and bom.ok
    assert cp932.entries == bom.entries == check_faq_file(original).entries
    assert cp932.summary().startswith("エラー 0件、警告 0件（文字コード CP932、")


@pytest.mark.skipif(not KOSODATE_CSV.exists(), reason="shared dataset not present")
def test_kosodate_generic_faq_passes_as_its_own_layout():
    report = check_faq_file(KOSODATE_CSV)
    assert report.errors == [], [str(e) for e in report.errors[:5]]
    assert report.layout == "kosodate"
    assert len(report.entries) == 661
    assert report.entries == load_faq_csv(KOSODATE_CSV)
    assert all(w.column == "question" for w in report.warnings)  # template FAQs that look alike
    print(report.summary())


def test_excel_crlf_with_line_feeds_inside_quoted_answers_passes():
    rows = [line.split(",") for line in TINY_FAQ.strip().split("\n")]
    rows[1][2] = "粗大ごみは事前申込制です。\n電話で申し込んでください。\n\n・受付：平日9時から"
    rows[3][2] = "中央図書館は\n午前9時30分から午後7時まで開館しています。"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    raw = buffer.getvalue().encode("cp932")
    assert b"\n\n" in raw and raw.count(b"\r\n") == 4
    report = check_faq_bytes(raw, "excel.csv")
    assert report.ok, [str(e) for e in report.errors]
    assert report.entries[0].answer.count("\n") == 3
    assert report.entries == parse_faq_csv(buffer.getvalue())
    assert report.lines == 8 and report.rows == 3


def test_lf_only_and_missing_final_newline_are_fine():
    assert check_faq_bytes(TINY_FAQ.encode()).ok
    assert check_faq_bytes(TINY_FAQ.rstrip("\n").replace("\n", "\r\n").encode()).ok


def test_japanese_headers_and_layout_detection():
    text = "番号,質問,回答,URL,担当課\r\n1,犬の登録は？,保健所で登録します。,https://www.city.example.jp/a.html,環境保全課\r\n"
    report = check_faq_bytes(text.encode("cp932"))
    assert report.ok and report.layout == "citybot"
    assert report.entries[0].department == "環境保全課"
    kosodate = check_faq_bytes(b"faq_id,question,answer,service_name\r\n1,q,a,s\r\n")
    assert kosodate.layout == "kosodate"
    no_url = check_faq_bytes(b"faq_id,question,answer\r\n1,q,a\r\n")
    assert no_url.layout == "citybot"


# --------------------------------------------------------------------------------------
# warnings


def test_warnings_do_not_block():
    text = (
        "faq_id,question,answer,備考,,alt_questions\r\n"
        "1,粗大ごみの出し方を教えてください。,申込制です。,メモ,,家具を捨てたい\r\n"
        "2,粗大ゴミの出し方を教えてください,申込制です。,,,\r\n"
        "3,家具を捨てたい,クリーンセンターへ。,,,\r\n"
        "4,犬の登録をしたい,保健所で登録します。,,,\uE000\r\n"
    )
    report = check_faq_bytes(text.encode("utf-8"))
    assert report.ok and len(report.entries) == 4
    found = {(w.line, w.column): w.message for w in report.warnings}
    assert "知らない列名" in found[(1, "備考")]
    assert "見出しが空の列（E列）" in found[(1, "")]
    assert "ID 1（2行目）と" in found[(3, "question")]  # ゴミ/ごみ and the 。 are normalised away
    assert "ID 3（4行目）の質問と同じ" in found[(2, "alt_questions")]
    assert "外字" in found[(5, "alt_questions")]
    assert report.summary() == "エラー 0件、警告 5件（文字コード UTF-8、5行、FAQ 4件）"


def test_exact_duplicate_question_is_a_warning():
    text = "faq_id,question,answer\n1,図書館は何時まで？,19時までです。\n2,図書館は何時まで?,19時です。\n"
    (warning,) = check_faq_bytes(text.encode()).warnings
    assert (warning.line, warning.column) == (3, "question") and "同じです" in warning.message


def test_similar_pairs_finds_exactly_what_brute_force_finds():
    rng = random.Random(7)
    alphabet = "あいうかきくさしす市役所住民票ごみ"
    texts = []
    for _ in range(40):
        base = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25)))
        for _ in range(3):
            chars = list(base)
            for _ in range(rng.randint(0, 2)):
                chars.insert(rng.randrange(len(chars) + 1), rng.choice(alphabet))
            texts.append("".join(chars))
    for threshold in (0.7, 0.8, 0.9):
        brute = []
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                ratio = 1.0 if texts[i] == texts[j] else SequenceMatcher(None, texts[i], texts[j]).ratio()
                if ratio >= threshold:
                    brute.append((i, j, ratio))
        assert similar_pairs(texts, threshold) == brute


# --------------------------------------------------------------------------------------
# performance


def _generated_faq(rows: int) -> str:
    rng = random.Random(2000)
    topics = ["粗大ごみ", "住民票", "印鑑登録", "児童手当", "保育所", "国民健康保険", "介護保険", "マイナンバーカード",
              "転入届", "転出届", "固定資産税", "住民税", "軽自動車税", "犬の登録", "図書館", "体育館", "公民館",
              "避難所", "ハザードマップ", "下水道", "市営住宅", "道路の補修", "街路灯", "防犯カメラ", "予防接種",
              "がん検診", "健康診査", "母子健康手帳", "就学援助", "放課後児童会", "自転車駐車場", "ごみカレンダー"]
    asks = ["の手続きを教えてください。", "はどこで申し込めますか。", "の料金はいくらですか。", "に必要なものは何ですか。",
            "は郵送でも受け付けていますか。", "は代理人でも申請できますか。", "の受付時間は何時までですか。",
            "について相談できる窓口はありますか。", "はオンラインで申請できますか。", "の期限はいつですか。"]
    who = ["", "高齢の親の", "引っ越してきたばかりの私の", "外国籍の方の", "障害のある家族の", "子どもの", "単身赴任中の夫の"]
    seen, lines = set(), ["faq_id,question,answer,url,category1,category2,department,updated_at,alt_questions"]
    while len(lines) <= rows:
        question = f"{rng.choice(who)}{rng.choice(topics)}{rng.choice(asks)}"
        if question in seen:
            question = f"{question[:-1]}（{len(lines)}）。"
        seen.add(question)
        n = len(lines)
        answer = f"{question[:-1]}については、担当課の窓口で受け付けています。詳しくは番号{n}のページをご覧ください。"
        lines.append(f"R-{n:04d},{question},\"{answer}\n受付時間は平日8時30分から17時15分です。\","
                     f"https://www.city.example.jp/faq/{n}.html,くらし,手続き,市民課,2026-04-01,{question[:8]}|質問{n}")
    return "\r\n".join(lines) + "\r\n"


def test_two_thousand_rows_check_quickly(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(_generated_faq(2000).encode("cp932"))
    started = time.perf_counter()
    report = check_faq_file(path)
    elapsed = time.perf_counter() - started
    print(f"\n2,000 rows: {elapsed:.2f} s, {report.summary()}")
    assert report.ok, [str(e) for e in report.errors[:5]]
    assert len(report.entries) == 2000
    assert report.warnings  # the generated questions repeat templates, so near-duplicates exist
    assert elapsed < 10.0


def test_check_report_defaults():
    report = CheckReport("x.csv")
    assert report.ok and report.summary() == "エラー 0件、警告 0件（文字コード 不明、0行）"
