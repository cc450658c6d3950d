"""Charset handling of crawled HTML: header → meta → detection, Shift_JIS as CP932, EUC-JP."""

from __future__ import annotations

import pytest

from retrieval.crawler.decode import decode_html, header_charset, meta_charset, python_codec

TEXT = "住民票の写し①は髙橋さんが窓口で受け取れます。申請書に記入してください。"


def page(charset_tag: str = "") -> str:
    return f"<html><head>{charset_tag}<title>住民票</title></head><body><p>{TEXT}</p></body></html>"


@pytest.mark.parametrize("label", ["Shift_JIS", "shift-jis", "SJIS", "x-sjis", "Windows-31J", "MS932", "cp932"])
def test_every_shift_jis_label_means_cp932(label):
    assert python_codec(label) == "cp932"
    html = page(f'<meta charset="{label}">')
    text, codec = decode_html(html.encode("cp932"), "text/html")
    assert codec == "cp932" and TEXT in text  # ① and 髙 exist only in CP932, not in strict Shift_JIS


def test_http_equiv_meta_is_read():
    html = page('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">')
    assert meta_charset(html.encode("cp932")) == "Shift_JIS"
    assert decode_html(html.encode("cp932"), "text/html")[0] == html


def test_header_charset_wins_over_meta():
    html = page('<meta charset="Shift_JIS">')  # a stale meta: the server knows better
    text, codec = decode_html(html.encode("utf-8"), "text/html; charset=UTF-8")
    assert codec == "utf-8" and text == html
    assert header_charset('text/html; charset="euc-jp"') == "euc-jp"


def test_a_wrong_header_charset_is_not_trusted():
    html = page('<meta charset="Shift_JIS">')
    text, codec = decode_html(html.encode("cp932"), "text/html; charset=utf-8")
    assert codec == "cp932" and text == html


def test_euc_jp_with_nec_extensions():
    html = page('<meta charset="EUC-JP">').replace("髙", "高")
    text, _ = decode_html(html.encode("euc_jis_2004"), "text/html")
    assert text == html  # ① is not in Python's euc_jp: decoded through EUC-JIS-2004


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp", "utf-8", "iso2022_jp"])
def test_detection_without_any_declaration(encoding):
    html = page().replace("①", "").replace("髙", "高")
    text, _ = decode_html(html.encode(encoding), "text/html")
    assert text == html


def test_bom_wins():
    html = page('<meta charset="Shift_JIS">')
    text, codec = decode_html(b"\xef\xbb\xbf" + html.encode("utf-8"), "text/html; charset=Shift_JIS")
    assert codec == "utf-8" and text == html


def test_unknown_labels_are_ignored():
    assert python_codec("no-such-charset") is None
    html = page('<meta charset="no-such-charset">')
    assert decode_html(html.encode("utf-8"))[0] == html
