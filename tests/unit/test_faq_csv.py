"""FAQ CSV loading: three encodings, two layouts, Japanese headers, row-level errors."""

from __future__ import annotations

import pytest

from retrieval.faq import FaqFormatError, load_faq_csv, load_faq_paths, parse_faq_csv
from tests.conftest import KOSODATE_CSV, TINY_FAQ


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_loads_each_encoding(tmp_path, encoding):
    path = tmp_path / f"faq-{encoding}.csv"
    path.write_bytes(TINY_FAQ.replace("\n", "\r\n").encode(encoding))
    entries = load_faq_csv(path)
    assert [e.faq_id for e in entries] == ["R-1", "R-2", "R-3"]
    assert entries[0].question == "粗大ごみはどうやって出せばいいですか。"
    assert entries[0].alt_questions == ("大きいごみを捨てたい", "粗大ゴミの出し方")
    assert entries[0].department == "クリーンセンター"


def test_undecodable_bytes_are_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"faq_id,question,answer\n1,\x80\xff\xfe\x81,x\n")
    with pytest.raises(FaqFormatError, match="文字コード"):
        load_faq_csv(path)


@pytest.mark.skipif(not KOSODATE_CSV.exists(), reason="shared dataset not present")
def test_kosodate_generic_faq_layout_imports():
    entries = load_faq_csv(KOSODATE_CSV)
    assert len(entries) == 661
    assert len({e.faq_id for e in entries}) == 661
    assert all(e.question and e.answer for e in entries)
    assert any("\n" in e.service_name for e in entries)  # multi-line fields survive


def test_japanese_header_aliases():
    text = "番号,質問,回答,URL,担当課\n1,犬の登録は？,保健所で登録します。,https://www.city.example.jp/a.html,環境保全課\n"
    (entry,) = parse_faq_csv(text)
    assert (entry.faq_id, entry.question, entry.department) == ("1", "犬の登録は？", "環境保全課")
    assert entry.url == "https://www.city.example.jp/a.html"


def test_missing_required_column_is_reported():
    with pytest.raises(FaqFormatError) as info:
        parse_faq_csv("faq_id,question\n1,q\n")
    assert "answer" in str(info.value) and "必須" in str(info.value)


def test_row_errors_carry_line_numbers_and_load_nothing():
    text = (
        "faq_id,question,answer,url\n"
        "1,質問1,回答1,https://www.city.example.jp/\n"
        "2,,回答2,\n"
        "1,質問3,回答3,javascript:alert(1)\n"
        "4,質問4\n"
    )
    with pytest.raises(FaqFormatError) as info:
        parse_faq_csv(text, "faq.csv")
    messages = [str(e) for e in info.value.errors]
    assert any(m.startswith("3行目「question」列") and "空欄" in m for m in messages)
    assert any(m.startswith("4行目「faq_id」列") and "重複" in m for m in messages)
    assert any(m.startswith("4行目「url」列") for m in messages)
    assert any(m.startswith("5行目") and "列の数" in m for m in messages)


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a.csv").write_text(TINY_FAQ, encoding="utf-8")
    (tmp_path / "b.csv").write_text(TINY_FAQ, encoding="utf-8")
    with pytest.raises(FaqFormatError, match="R-1"):
        load_faq_paths([tmp_path])


def test_sample_faq_files_load_and_have_working_links():
    from bot.settings import REPO_ROOT

    resident = load_faq_paths([REPO_ROOT / "data/faq/resident"])
    staff = load_faq_paths([REPO_ROOT / "data/faq/staff"])
    assert len(resident) >= 150 and len(staff) >= 50
    assert not {e.faq_id for e in resident} & {e.faq_id for e in staff}
    for entry in resident:
        path = entry.url.removeprefix("https://www.city.example.jp/")
        assert (REPO_ROOT / "sample_site" / path).is_file(), f"{entry.faq_id}: {entry.url} has no sample page"
