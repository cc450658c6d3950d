"""HTML and PDF extraction on literal documents: main text only, heading paths, category, date."""

from __future__ import annotations

import pytest

from retrieval.crawler.extract import (
    ExtractError,
    chunk_text,
    extract_html,
    extract_pdf,
    join_wrapped_lines,
    passage_id,
)
from tests.unit.test_crawler_sitekit import make_pdf

PAGE = """<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">
<title>児童手当｜テスト市 公式ホームページ</title></head>
<body id="top">
<a class="skip-link" href="#main">本文へスキップ</a>
<header><p class="logo"><a href="/">テスト市</a></p>
<nav class="global-nav"><ul><li><a href="/kurashi/">くらし・手続き</a></li><li><a href="/kosodate/">子育て・教育</a></li></ul></nav></header>
<nav aria-label="パンくず"><ol><li><a href="/">ホーム</a></li><li><a href="/kosodate/">子育て・教育</a></li>
<li><a href="/kosodate/teate/">手当・助成</a></li><li aria-current="page">児童手当</li></ol></nav>
<main id="main">
<h1>児童手当</h1>
<p class="update">更新日：令和8年4月1日</p>
<p>児童手当は、高校生年代までの児童を養育している方に支給されます。</p>
<h2>支給額</h2>
<table><tr><th>年齢</th><th>月額</th></tr><tr><td>3歳未満</td><td>15,000円</td></tr></table>
<h3>第3子以降</h3>
<p>第3子以降は月額30,000円です。</p>
<h2>申請に必要なもの</h2>
<ul><li>請求者名義の通帳</li><li>本人確認書類<ul><li>マイナンバーカード</li></ul></li></ul>
<h4>注意</h4>
<p>申請が遅れると、遅れた月分の手当は受けられません。</p>
<p><a href="/files/teate.pdf">児童手当のご案内（PDF形式・120KB）</a></p>
</main>
<aside class="side-nav"><h2>関連ページ</h2><ul><li><a href="/kosodate/hoiku.html">保育所</a></li></ul></aside>
<footer><p class="pagetop"><a href="#top">このページの先頭へ</a></p>
<address>〒999-9999 テスト市役所通り1-1 電話 000-000-0000</address></footer>
</body></html>"""


@pytest.fixture(scope="module")
def page():
    return extract_html(PAGE, "https://www.city.example.jp/kosodate/teate/jido.html")


def test_title_category_and_date(page):
    assert page.title == "児童手当"
    assert page.category == "子育て・教育 > 手当・助成"
    assert page.updated_at == "2026-04-01"


def test_sections_follow_the_heading_path(page):
    assert [s.heading for s in page.sections] == ["", "支給額", "支給額 > 第3子以降", "申請に必要なもの"]
    lead, amounts, third, needs = (s.text for s in page.sections)
    assert lead == "児童手当は、高校生年代までの児童を養育している方に支給されます。"
    assert amounts == "年齢 / 月額\n3歳未満 / 15,000円"
    assert third == "第3子以降は月額30,000円です。"
    assert "・請求者名義の通帳" in needs and "マイナンバーカード" in needs
    assert "【注意】" in needs and "遅れた月分" in needs  # h4 stays inside its h2 passage


def test_boilerplate_never_enters_the_text(page):
    text = "\n".join(s.text for s in page.sections)
    for junk in ("このページの先頭へ", "本文へスキップ", "くらし・手続き", "関連ページ", "保育所", "〒999-9999",
                 "ホーム", "更新日", "テスト市役所"):
        assert junk not in text, junk


def test_links_come_from_the_whole_page(page):
    urls = [link.url for link in page.links]
    assert "https://www.city.example.jp/kurashi/" in urls  # global nav: followed, though not indexed
    assert "https://www.city.example.jp/files/teate.pdf" in urls
    assert "https://www.city.example.jp/kosodate/hoiku.html" in urls
    assert not any(u.endswith("#top") or u.endswith("#main") for u in urls)


def test_a_short_page_without_main_keeps_only_its_content():
    html = """<html><head><title>お知らせ - テスト市</title></head><body>
    <div id="header"><ul class="gnav"><li><a href="/">ホーム</a></li><li><a href="/a">くらし</a></li></ul></div>
    <div class="topicpath"><a href="/">トップページ</a> &gt; <a href="/shisei/">市政情報</a> &gt; お知らせ</div>
    <div id="contents"><h1>お知らせ</h1><p>最終更新日：平成31年4月30日</p><p>窓口は5月7日から開きます。</p></div>
    <div id="footer"><p><a href="#top">ページの先頭へ戻る</a></p><p>Copyright テスト市</p></div>
    </body></html>"""
    page = extract_html(html, "https://www.city.example.jp/shisei/oshirase.html")
    assert page.title == "お知らせ"
    assert page.category == "市政情報"
    assert page.updated_at == "2019-04-30"
    assert [(s.heading, s.text) for s in page.sections] == [("", "窓口は5月7日から開きます。")]


def test_title_falls_back_to_the_title_element():
    page = extract_html("<html><head><title>ごみの出し方｜テスト市</title></head><body><p>燃やすごみは週2回です。</p>"
                        "</body></html>", "https://x.example/a.html")
    assert page.title == "ごみの出し方"
    assert page.sections[0].text == "燃やすごみは週2回です。"


def test_link_and_description_do_not_run_together():
    html = ('<html><body><main><h1>一覧</h1><ul><li><a href="/a.html">住民票</a><span>写しの請求方法です。</span></li>'
            "</ul></main></body></html>")
    assert "住民票 写しの請求方法です。" in extract_html(html, "https://x.example/").sections[0].text


def test_empty_html_is_an_error():
    with pytest.raises(ExtractError):
        extract_html("   ", "https://x.example/")


def test_long_sections_are_chunked_at_sentences():
    text = "あ" * 300 + "。" + "い" * 300 + "。" + "う" * 300 + "。"
    chunks = chunk_text(text, limit=700)
    assert "".join(chunks) == text and all(len(c) <= 700 for c in chunks) and len(chunks) == 2


def test_passage_ids_are_stable_and_distinct():
    url = "https://x.example/a.html"
    assert passage_id(url, "料金", 0) == passage_id(url, "料金", 0)
    assert len({passage_id(url, "料金", 0), passage_id(url, "料金", 1), passage_id(url, "申込み", 0),
                passage_id(url + "?x", "料金", 0)}) == 4


def test_pdf_text_per_page_with_title_from_the_link():
    body = make_pdf([["児童手当のご案内", "申請は出生日の翌日から15日以内です①。"], ["髙橋さんの窓口で受け付けます。"]])
    page = extract_pdf(body, "https://x.example/files/teate.pdf", title_hint="児童手当のご案内（PDF形式・120KB）",
                       category_hint="子育て・教育")
    assert page.kind == "pdf" and page.title == "児童手当のご案内" and page.category == "子育て・教育"
    assert [(s.heading, s.text) for s in page.sections] == [
        ("1ページ", "児童手当のご案内\n申請は出生日の翌日から15日以内です①。"),
        ("2ページ", "髙橋さんの窓口で受け付けます。"),
    ]


def test_pdf_metadata_title_and_date():
    page = extract_pdf(make_pdf([["本文です。"]], title="ごみカレンダー"), "https://x.example/files/c.pdf")
    assert page.title == "ごみカレンダー" and page.updated_at == "2026-04-01"
    assert [(s.heading, s.text) for s in page.sections] == [("", "本文です。")]


def test_broken_pdf_is_an_error():
    with pytest.raises(ExtractError):
        extract_pdf(b"%PDF-1.4 not really", "https://x.example/files/broken.pdf")


def test_pdf_line_wrapping_is_undone():
    text = ("粗大ごみは事前申込制・有料の戸別収集です。受付センター（電話：000-000-0000（サ\n"
            "ンプル））でお申し込みください。\n"
            "2. 処理券の購入\n"
            "市内の取扱店で、料金分の粗大ごみ処理券を購入してください。取扱店は市のホームペ\n"
            "ージでご確認ください。")
    assert join_wrapped_lines(text).split("\n") == [
        "粗大ごみは事前申込制・有料の戸別収集です。受付センター（電話：000-000-0000（サンプル））でお申し込みください。",
        "2. 処理券の購入",
        "市内の取扱店で、料金分の粗大ごみ処理券を購入してください。取扱店は市のホームページでご確認ください。",
    ]
