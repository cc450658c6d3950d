"""The crawler against real HTTP on 127.0.0.1: small city sites served by the Flask app,
every request counted server-side. No Rasa, no network beyond loopback."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from retrieval.crawler import CrawlConfig, CrawlConfigError, PageStore, crawl
from retrieval.crawler.config import USER_AGENT
from tests.unit.test_crawler_sitekit import (
    FOOTER_ADDRESS,
    GLOBAL_NAV,
    PAGETOP,
    city_page,
    make_pdf,
    serve_site,
    write_files,
)

pytestmark = pytest.mark.integration

SJIS_TITLE = "髙橋市民センターの利用案内"
SJIS_TEXT = "利用の申込みは①窓口、②電話で受け付けます。髙橋市民センターは月曜日が休館日です。"


def city_site(root: Path, origin: str) -> None:
    """A small city site under /city/ (robots.txt and sitemap.xml at the root)."""
    index = city_page("テスト市トップ", """
<p>テスト市の公式サイトのトップページです。</p>
<ul>
<li><a href="/city/kurashi/sodai.html">粗大ごみ</a></li>
<li><a href="/city/kurashi/sjis.html">髙橋</a></li>
<li><a href="/city/kurashi/nodecl.html">宣言なし</a></li>
<li><a href="/city/kanri/secret.html">管理ページ</a></li>
<li><a href="/other/elsewhere.html">範囲外</a></li>
<li><a href="/city/broken.html">壊れたリンク</a></li>
<li><a href="/city/gone.html">削除済み</a></li>
<li><a href="/city/loop-a.html">ループ</a></li>
<li><a href="/city/external-link.html">外部サイト</a></li>
<li><a href="/city/moved.html">移転したページ</a></li>
<li><a href="/city/r1.html">転送の連続</a></li>
<li><a href="/city/files/guide.pdf">粗大ごみの出し方ガイド（PDF形式・2KB）</a></li>
<li><a href="/city/files/data.csv">データ（CSV）</a></li>
<li><a href="/city/download">ダウンロード</a></li>
<li><a href="/city/big.html">大きなページ</a></li>
<li><a href="/city/stream-big.html">長いストリーム</a></li>
<li><a href="mailto:info@city.example.jp">メール</a></li>
</ul>""", crumbs=(), updated="令和8年3月1日")
    sodai = city_page("粗大ごみの出し方", """
<p>粗大ごみは事前申込制の戸別収集です。</p>
<h2>申込み方法</h2>
<p>粗大ごみ受付センターに電話で申し込んでください。</p>
<h3>インターネット申込み</h3>
<p>申込みフォームは24時間受け付けています。</p>
<h2>料金</h2>
<table><tr><th>品目</th><th>料金</th></tr><tr><td>いす</td><td>400円</td></tr></table>
<p>詳しくは<a href="/city/files/guide.pdf">粗大ごみの出し方ガイド（PDF形式・2KB）</a>をご覧ください。</p>
""", crumbs=("くらし・手続き", "ごみ・リサイクル"), updated="令和8年4月1日")
    sjis = city_page(SJIS_TITLE, f"""
<p>{SJIS_TEXT}</p>
<h2>開館時間</h2>
<p>午前9時から午後9時まで開館しています。</p>
""", crumbs=("施設案内",), updated="令和8年4月1日", charset="Shift_JIS", meta="http-equiv")
    nodecl = city_page("文字コード宣言のないページ", """
<p>このページには文字コードの宣言がありません。住民票の写しは市民課の窓口で請求できます。①②③の番号札をお取りください。</p>
<h2>必要なもの</h2>
<p>本人確認書類（運転免許証、マイナンバーカードなど）をお持ちください。髙島屋前の臨時窓口でも受け付けます。</p>
""", crumbs=("くらし・手続き",), updated="平成31年4月30日", meta="none")
    files = {
        "robots.txt": f"User-agent: *\nDisallow: /kanri/\nDisallow: /city/kanri/\n\nSitemap: {origin}/sitemap.xml\n",
        "sitemap.xml": f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{origin}/city/index.html</loc></url>
<url><loc>{origin}/city/only-in-sitemap.html</loc></url>
<url><loc>{origin}/city/kanri/secret.html</loc></url>
<url><loc>{origin}/city/missing-from-site.html</loc></url>
</urlset>
""",
        "_redirects": "/city/loop-a.html /city/loop-b.html 302\n/city/loop-b.html /city/loop-a.html 302\n"
                      "/city/external-link.html https://www.example.org/ 302\n"
                      "/city/moved.html /city/kurashi/new-place.html 301\n"
                      + "".join(f"/city/r{i}.html /city/r{i + 1}.html 302\n" for i in range(1, 9)),
        "city/index.html": index,
        "city/kurashi/sodai.html": sodai,
        "city/kurashi/new-place.html": city_page("移転先のページ", "<p>このページは移転しました。新しい住所の案内です。</p>"),
        "city/only-in-sitemap.html": city_page("サイトマップだけにあるページ",
                                               "<p>このページはサイトマップからだけたどれます。犬の登録の案内です。</p>"),
        "city/kanri/secret.html": city_page("管理者用", "<p>職員専用の管理ページです。</p>"),
        "other/elsewhere.html": city_page("範囲外", "<p>許可された範囲の外です。</p>"),
        "city/files/guide.pdf": make_pdf([["粗大ごみの出し方ガイド", "申込みは収集日の1週間前までにお願いします。"],
                                          ["処理券は市内のコンビニで購入できます。"]]),
        "city/files/data.csv": "a,b\n1,2\n",
        "city/download": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        "city/big.html": city_page("大きなページ", "<p>" + "大" * 120_000 + "</p>"),
    }
    write_files(root, files)
    write_files(root, {"city/kurashi/sjis.html": sjis}, encoding="cp932")
    write_files(root, {"city/kurashi/nodecl.html": nodecl}, encoding="cp932")


def stream_big():
    from flask import Response

    return Response((b"<p>" + b"x" * 8192 + b"</p>" for _ in range(40)), mimetype="text/html")


def gone():
    from flask import Response

    return Response("gone", status=410)


@pytest.fixture
def city(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with serve_site(root) as site:
        city_site(root, site.url)
        site.dynamic.update({"/city/stream-big.html": stream_big, "/city/gone.html": gone})
        yield site


def config(site, **overrides) -> CrawlConfig:
    values = {"start_url": site.url + "/city/index.html", "delay": 0.0, "concurrency": 3, "max_bytes": 100_000,
              "max_redirects": 3, "retries": 0, "timeout": 5.0}
    return CrawlConfig(**(values | overrides))


def passages_of(store: PageStore, url: str):
    return [p for p in store.passages() if p.url == url]


def test_full_crawl_of_a_city_site(city, tmp_path):
    store = PageStore(tmp_path / "pages.sqlite")
    report = crawl(config(city), store)
    u = city.url + "/city/"
    paths = city.paths()

    # robots.txt is obeyed (even for URLs listed in the sitemap) and the allowed prefix is kept
    assert not [p for p in paths if "/kanri/" in p]
    assert "/other/elsewhere.html" not in paths
    assert report.skipped_robots == 1
    # extension-filtered links are never requested; other content types are requested but skipped
    assert "/city/files/data.csv" not in paths and "/city/download" in paths
    assert report.skipped == 1
    # everything went out with our User-Agent, and no page was requested twice
    assert {h.user_agent for h in city.hits} == {USER_AGENT}
    page_paths = [h.path for h in city.page_hits()]
    assert len(page_paths) == len(set(page_paths))

    urls = {p.url for p in store.pages()}
    assert urls == {u + "index.html", u + "kurashi/sodai.html", u + "kurashi/sjis.html", u + "kurashi/nodecl.html",
                    u + "kurashi/new-place.html", u + "only-in-sitemap.html", u + "files/guide.pdf"}
    assert report.new == 7 and report.changed == 0 and report.unchanged == 0 and report.removed == 0
    assert report.complete and report.fetched == len(page_paths)

    # Shift_JIS (CP932) with http-equiv, served as text/html without charset: exact strings incl. ① and 髙
    sjis = store.page(u + "kurashi/sjis.html")
    assert sjis.title == SJIS_TITLE and sjis.encoding == "cp932"
    sjis_passages = passages_of(store, u + "kurashi/sjis.html")
    assert sjis_passages[0].text == SJIS_TEXT
    assert sjis_passages[0].page_title == SJIS_TITLE and sjis_passages[0].category == "施設案内"
    # no declaration anywhere: detected
    nodecl = passages_of(store, u + "kurashi/nodecl.html")
    assert "①②③の番号札" in nodecl[0].text and "髙島屋前" in nodecl[1].text
    assert store.page(u + "kurashi/nodecl.html").updated_at == "2019-04-30"

    # breadcrumb → category, 和暦 → ISO date, passages titled by their heading path
    sodai = passages_of(store, u + "kurashi/sodai.html")
    assert [p.title for p in sodai] == ["粗大ごみの出し方", "粗大ごみの出し方 > 申込み方法",
                                        "粗大ごみの出し方 > 申込み方法 > インターネット申込み", "粗大ごみの出し方 > 料金"]
    assert {p.category for p in sodai} == {"くらし・手続き > ごみ・リサイクル"}
    assert {p.updated_at for p in sodai} == {"2026-04-01"}
    assert "いす / 400円" in sodai[3].text

    # boilerplate never enters a passage
    for passage in store.passages():
        for junk in (PAGETOP, GLOBAL_NAV, FOOTER_ADDRESS, "本文へスキップ", "サイドメニュー項目", "著作権表示", "更新日"):
            assert junk not in passage.text, (passage.url, junk)

    # the PDF: text per page, titled from the link that points to it, category from the linking page
    pdf = passages_of(store, u + "files/guide.pdf")
    assert [p.title for p in pdf] == ["粗大ごみの出し方ガイド > 1ページ", "粗大ごみの出し方ガイド > 2ページ"]
    assert "収集日の1週間前まで" in pdf[0].text and pdf[1].text == "処理券は市内のコンビニで購入できます。"

    # the sitemap-only page was found
    assert passages_of(store, u + "only-in-sitemap.html")[0].text.startswith("このページはサイトマップからだけ")

    # dead links: 404, 410, a redirect loop, an off-site redirect, too many redirects, a sitemap entry
    dead = {(d.source_url, d.target_url): d.kind for d in store.dead_links()}
    assert dead == {
        (u + "index.html", u + "broken.html"): "not_found",
        (u + "index.html", u + "gone.html"): "gone",
        (u + "index.html", u + "loop-a.html"): "redirect_loop",
        (u + "index.html", u + "external-link.html"): "offsite_redirect",
        (u + "index.html", u + "r1.html"): "too_many_redirects",
        (city.url + "/sitemap.xml", u + "missing-from-site.html"): "not_found",
    }
    assert report.dead_links == 6
    # the 301 move is followed, not reported; the off-site target is never requested
    assert "/city/kurashi/new-place.html" in paths
    assert [p for p in paths if p.startswith("/city/r")] == ["/city/r1.html", "/city/r2.html", "/city/r3.html",
                                                             "/city/r4.html"]
    # bodies over max_bytes are refused (Content-Length and streamed) and counted as errors
    assert report.errors == 2
    assert store.page(u + "big.html") is None and store.page(u + "stream-big.html") is None


def test_delay_is_kept_between_requests(tmp_path):
    root = tmp_path / "site"
    links = "".join(f'<li><a href="/p{i}.html">p{i}</a></li>' for i in range(1, 6))
    write_files(root, {"index.html": city_page("トップ", f"<ul>{links}</ul>", home="/index.html"),
                       **{f"p{i}.html": city_page(f"ページ{i}", f"<p>本文{i}です。</p>", home="/index.html")
                          for i in range(1, 6)}})
    with serve_site(root) as site:
        started = time.monotonic()
        report = crawl(CrawlConfig(site.url + "/index.html", delay=0.2, concurrency=3), PageStore(tmp_path / "s.db"))
        elapsed = time.monotonic() - started
    assert report.fetched == 6 and report.new == 6
    assert elapsed >= 1.0
    arrivals = [h.at for h in site.hits]  # robots.txt, sitemap.xml and the 6 pages: all one host
    assert len(arrivals) == 8
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) >= 0.2, gaps


def test_robots_crawl_delay_wins_unless_sample_mode(tmp_path):
    root = tmp_path / "site"
    write_files(root, {"robots.txt": "User-agent: *\nCrawl-delay: 0.3\n",
                       "index.html": city_page("トップ", '<a href="/a.html">a</a><a href="/b.html">b</a>', home="/index.html"),
                       "a.html": city_page("A", "<p>Aです。</p>", home="/index.html"),
                       "b.html": city_page("B", "<p>Bです。</p>", home="/index.html")})
    with serve_site(root) as site:
        crawl(CrawlConfig(site.url + "/index.html", delay=0.05), PageStore(tmp_path / "s.db"))
        arrivals = [h.at for h in site.hits]
        assert min(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) >= 0.3
        site.clear()
        crawl(CrawlConfig(site.url + "/index.html", delay=0.0, respect_crawl_delay=False),
              PageStore(tmp_path / "t.db"))
        arrivals = [h.at for h in site.hits]
        assert arrivals[-1] - arrivals[0] < 0.6  # 5 requests, the 0.3 s Crawl-delay overridden
    with pytest.raises(CrawlConfigError):
        CrawlConfig("https://www.city.example.jp/", respect_crawl_delay=False)


def test_recrawl_unchanged_changed_and_removed(city, tmp_path, monkeypatch):
    from retrieval.crawler import crawler as crawler_module

    store = PageStore(tmp_path / "pages.sqlite")
    first = crawl(config(city), store)
    u = city.url + "/city/"
    ids_before = {p.passage_id: p for p in store.passages()}

    extracted = []
    real_html, real_pdf = crawler_module.extract_html, crawler_module.extract_pdf
    monkeypatch.setattr(crawler_module, "extract_html", lambda text, url: extracted.append(url) or real_html(text, url))
    monkeypatch.setattr(crawler_module, "extract_pdf", lambda body, url, **kw: extracted.append(url) or real_pdf(body, url, **kw))

    # nothing changed: conditional requests, all 304, nothing extracted
    city.clear()
    second = crawl(config(city), store)
    assert (second.new, second.changed, second.unchanged, second.removed) == (0, 0, first.new, 0)
    assert extracted == []
    conditional = [h for h in city.page_hits() if h.if_none_match]
    assert len(conditional) == first.new and {h.status for h in conditional} == {304}
    assert {p.passage_id for p in store.passages()} == set(ids_before)

    # an edited page, a page touched but identical, a deleted page
    sodai = city.root / "city/kurashi/sodai.html"
    sodai.write_text(sodai.read_text(encoding="utf-8").replace("電話で申し込んで", "電話またはLINEで申し込んで"),
                     encoding="utf-8")
    touched = city.root / "city/only-in-sitemap.html"
    later = time.time() + 5
    os.utime(sodai, (later, later))
    os.utime(touched, (later, later))
    (city.root / "city/kurashi/new-place.html").unlink()
    city.clear()
    third = crawl(config(city), store)
    assert (third.new, third.changed, third.unchanged, third.removed) == (0, 1, 5, 1)
    assert extracted == [u + "kurashi/sodai.html"]  # the touched page had the same bytes: not extracted
    assert store.page(u + "kurashi/new-place.html") is None and not passages_of(store, u + "kurashi/new-place.html")
    changed = [p for p in passages_of(store, u + "kurashi/sodai.html") if p.heading == "申込み方法"]
    assert changed[0].text == "粗大ごみ受付センターに電話またはLINEで申し込んでください。"
    assert changed[0].passage_id in ids_before  # same URL and heading path: same id
    assert ("not_found" in {d.kind for d in store.dead_links() if d.target_url == u + "moved.html"})


def test_interrupted_crawl_resumes_without_refetching(city, tmp_path):
    store = PageStore(tmp_path / "pages.sqlite")
    seen = []

    def stop_after_three(event):
        seen.append(event.url)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        crawl(config(city), store, progress=stop_after_three)
    first_pages = [h.path for h in city.page_hits()]
    assert 3 <= len(first_pages) < 10

    events = []
    report = crawl(config(city), store, progress=events.append)
    all_pages = [h.path for h in city.page_hits()]
    assert report.resumed and report.complete
    assert len(all_pages) == len(set(all_pages)), "a page was fetched twice"
    assert report.fetched == len(all_pages) - len(first_pages)
    assert events[-1].done == len(all_pages)
    assert len(store.pages()) == 7 and len(store.dead_links()) == 6

    # the next crawl is a fresh one again
    assert not crawl(config(city), store).resumed


def test_max_pages_stops_early_and_keeps_unvisited_pages(city, tmp_path):
    store = PageStore(tmp_path / "pages.sqlite")
    crawl(config(city), store)
    report = crawl(config(city, max_pages=3), store)
    assert report.fetched == 3 and not report.complete and report.removed == 0
    assert len(store.pages()) == 7


# --- the command line --------------------------------------------------------------------

def test_cli_crawls_a_start_url_and_writes_the_dead_link_report(city, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setenv("CITYBOT_PAGES_DIR", str(tmp_path / "pages"))
    result = CliRunner().invoke(main, ["crawl", city.url + "/city/index.html", "--delay", "0", "--audience", "staff",
                                       "--concurrency", "3", "--allow", "/city/"])
    assert result.exit_code == 0, result.output
    summary = next(line for line in result.output.splitlines() if line.startswith("crawl staff:"))
    assert "/ new 9 /" in summary and "/ dead links 6 /" in summary  # big pages fit the default 10 MiB limit
    assert (tmp_path / "pages" / "staff.sqlite").exists()
    report = (tmp_path / "pages" / "staff-dead-links.csv").read_text(encoding="utf-8-sig")
    assert "redirect_loop" in report and "offsite_redirect" in report


SAMPLE = Path(__file__).resolve().parents[2] / "sample_site"


@pytest.mark.skipif(not (SAMPLE / "robots.txt").exists(), reason="sample_site is not a crawl fixture yet")
def test_cli_sample_crawl_of_the_real_sample_site(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setenv("CITYBOT_PAGES_DIR", str(tmp_path))
    started = time.monotonic()
    result = CliRunner().invoke(main, ["crawl", "--sample"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30  # Crawl-delay: 1 is overridden on loopback
    assert "crawl resident: fetched" in result.output
    store = PageStore(tmp_path / "resident.sqlite")
    site = "https://www.city.example.jp"
    pages = {p.url: p for p in store.pages()}
    assert all(url.startswith(site + "/") for url in pages)  # recorded under SITE_ORIGIN, not the loopback port
    assert not [u for u in pages if "/kanri/" in u]
    assert site + "/shisei/orphan-oshirase.html" in pages  # only in the sitemap
    assert pages[site + "/kurashi/suido.html"].encoding == "cp932"
    suido = " ".join(p.text for p in store.passages() if p.url == site + "/kurashi/suido.html")
    assert "①" in suido and "髙" in suido and "このページはShift_JISで作成されています" in suido
    assert {pages[site + "/files/sodaigomi-guide.pdf"].kind, pages[site + "/files/hoiku-moshikomi-guide.pdf"].kind} \
        == {"pdf"}
    assert any(p.updated_at == "2026-04-01" for p in pages.values())
    dead = {(d.target_url.removeprefix(site), d.kind) for d in store.dead_links()}
    assert ("/loop-a.html", "redirect_loop") in dead and ("/external-link.html", "offsite_redirect") in dead
    assert ("/kurashi/haishi-page.html", "not_found") in dead
    assert not [d for d in dead if d[0] == "/kurashi/gomi/old-bunbetsu.html"]  # a 301 move is fine
    for passage in store.passages():
        assert "このページの先頭へ" not in passage.text and "開庁時間：月曜日から金曜日" not in passage.text


def test_retries_with_backoff_and_timeouts(tmp_path):
    from flask import Response

    root = tmp_path / "site"
    write_files(root, {"index.html": city_page("トップ", '<a href="/flaky.html">f</a><a href="/slow.html">s</a>',
                                               home="/index.html")})
    answers = iter([503, 503])

    def flaky():
        status = next(answers, 200)
        return Response(city_page("ときどき混雑", "<p>三度目で表示されます。</p>", home="/index.html") if status == 200
                        else "busy", status=status, mimetype="text/html")

    def slow():
        time.sleep(2.0)
        return Response("late", mimetype="text/html")

    with serve_site(root) as site:
        site.dynamic.update({"/flaky.html": flaky, "/slow.html": slow})
        store = PageStore(tmp_path / "s.db")
        report = crawl(CrawlConfig(site.url + "/index.html", delay=0, retries=2, backoff=0.01, timeout=0.5), store)
    assert [h.status for h in site.hits if h.path == "/flaky.html"] == [503, 503, 200]
    assert passages_of(store, site.url + "/flaky.html")[0].text == "三度目で表示されます。"
    assert report.new == 2 and report.errors == 1  # the slow page timed out (three tries), the crawl went on
    assert [d.kind for d in store.dead_links()] == ["error"]
