"""The sample city homepage as a crawler fixture: pages, robots.txt, sitemap, encodings,
redirects, hidden paths, conditional requests, PDFs and links (Flask test client)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import pypdf
import pytest

from bot.settings import REPO_ROOT

SITE = REPO_ROOT / "sample_site"
ORIGIN = "http://localhost"  # the Flask test client's default host
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

SJIS_MARKER = "このページはShift_JISで作成されています（サンプル）。"
KANRI_MARKER = "管理用ページ（クロール対象外）"
ORPHAN = "/shisei/orphan-oshirase.html"
ORPHAN_MARKER = "お知らせ（サイトマップからのみ到達）"
SHIFT_JIS_PAGES = ["/kurashi/suido.html", "/kenko/gankenshin.html", "/shisei/senkyo.html"]
KANRI_PAGES = ["/kanri/index.html", "/kanri/naibu.html"]
NEW_PAGES = [
    "/kurashi/jutaku.html", "/kurashi/suido.html", "/kurashi/doro.html",
    "/kenko/gankenshin.html", "/kenko/seikatsuhogo.html", "/kenko/shogai.html",
    "/kosodate/gakudo.html", "/kosodate/seijinshiki.html",
    "/shisei/senkyo.html", "/shisei/volunteer.html", ORPHAN,
]
# Deliberately broken links (pages that were "removed"); every other internal link must work.
BROKEN_LINKS = {
    "/kurashi/haishi-page.html",
    "/kurashi/gomi/calendar-r6.html",
    "/kenko/tokuteikenshin-old.html",
    "/kosodate/hokago-kyoshitsu.html",
    "/shisei/shiseidayori-h30.html",
}
REDIRECTS = {
    "/kurashi/gomi/old-bunbetsu.html": (301, "/kurashi/gomi/bunbetsu.html"),
    "/loop-a.html": (302, "/loop-b.html"),
    "/loop-b.html": (302, "/loop-a.html"),
    "/external-link.html": (302, "https://www.example.org/"),
}
PDFS = {
    "/files/sodaigomi-guide.pdf": ("粗大ごみの出し方ガイド（サンプル）", "/kurashi/gomi/sodaigomi.html"),
    "/files/hoiku-moshikomi-guide.pdf": ("保育所等入所申込みの手引き（サンプル）", "/kosodate/hoikusho.html"),
}


# ------------------------------------------------------------------------- helpers

def _all_pages() -> list[str]:
    return sorted("/" + p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html"))


def _public_pages() -> list[str]:
    return [p for p in _all_pages() if not p.startswith("/kanri/")]


def _charset(raw: bytes) -> str:
    match = re.search(rb'<meta charset="([^"]+)"', raw[:1024])
    assert match, "page has no <meta charset>"
    return match[1].decode("ascii")


def _text(path: str) -> str:
    """A page's text, decoded the way a browser would (from its meta charset)."""
    raw = (SITE / path.lstrip("/")).read_bytes()
    charset = _charset(raw)
    return raw.decode("cp932" if charset.lower() == "shift_jis" else charset)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.footer_links: list[str] = []
        self._in_footer = 0

    def handle_starttag(self, tag, attrs):
        if tag == "footer":
            self._in_footer += 1
        url = dict(attrs).get("src" if tag in ("script", "img") else "href")
        if tag in ("a", "link", "script", "img") and url:
            self.links.append(url)
            if self._in_footer:
                self.footer_links.append(url)

    def handle_endtag(self, tag):
        if tag == "footer":
            self._in_footer -= 1


def _parse(path: str) -> _Links:
    parser = _Links()
    parser.feed(_text(path))
    return parser


def _internal(page: str, urls: list[str]) -> set[str]:
    """Same-origin link targets of ``page`` as paths (fragment and query dropped)."""
    found = set()
    for url in urls:
        absolute = urlsplit(urljoin(ORIGIN + page, url))
        if absolute.scheme == "http" and absolute.netloc == "localhost":
            found.add(absolute.path)
    return found


@pytest.fixture(scope="module")
def links_by_page() -> dict[str, set[str]]:
    return {page: _internal(page, _parse(page).links) for page in _all_pages()}


def _sitemap_locs(client) -> list[str]:
    response = client.get("/sitemap.xml")
    root = ET.fromstring(response.data)
    assert root.tag == f"{SITEMAP_NS}urlset"
    return [url.findtext(f"{SITEMAP_NS}loc") for url in root.iter(f"{SITEMAP_NS}url")]


# ------------------------------------------------------------------------- pages

def test_site_has_at_least_47_public_pages_and_new_topics():
    assert len(_public_pages()) >= 47
    for page in NEW_PAGES:
        assert (SITE / page.lstrip("/")).is_file(), page


@pytest.mark.parametrize("page", _all_pages())
def test_every_page_keeps_the_cms_structure(page):
    text = _text(page)
    for part in ('<nav class="global-nav"', "<main id=\"main\">", "<h1>", "更新日：",
                 "このページの先頭へ", "/widget/widget.js", "citybot デモ用のサンプル", "</html>"):
        assert part in text, f"{page}: missing {part}"
    if page != "/index.html":
        assert '<nav class="breadcrumb" aria-label="パンくず">' in text
        assert "このページに関するお問い合わせ" in text or "category-block" in text


@pytest.mark.parametrize("page", NEW_PAGES)
def test_new_pages_have_two_to_four_sections_of_sample_content(page):
    content = _text(page).split('<div class="content">', 1)[1].split("</div>", 1)[0]
    assert 2 <= content.count("<h2>") <= 4
    assert "（サンプル）" in content
    assert "000-000-0000（サンプル）" in _text(page)


def test_new_pages_are_linked_from_category_indexes_and_the_top_page(links_by_page):
    for page in NEW_PAGES:
        if page == ORPHAN:
            continue
        index = page.rsplit("/", 1)[0] + "/index.html"
        assert page in links_by_page[index], f"{index} does not link {page}"
        assert page in links_by_page["/index.html"], f"top page does not link {page}"


def test_update_dates_mix_japanese_era_and_western_years():
    wareki = [p for p in _all_pages() if re.search(r"更新日：令和\d+年\d+月\d+日", _text(p))]
    seireki = [p for p in _all_pages() if re.search(r"更新日：20\d\d年\d+月\d+日", _text(p))]
    assert len(wareki) >= 3 and len(seireki) >= 3


# ------------------------------------------------------------------------- robots.txt / sitemap

def test_robots_txt_disallows_kanri_and_names_the_sitemap_of_the_request_origin(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    body = response.get_data(as_text=True)
    assert "User-agent: *" in body and "Disallow: /kanri/" in body and "Crawl-delay: 1" in body
    assert f"Sitemap: {ORIGIN}/sitemap.xml" in body.splitlines()
    assert "__ORIGIN__" not in body

    other = client.get("/robots.txt", base_url="http://city.test:8080")
    assert "Sitemap: http://city.test:8080/sitemap.xml" in other.get_data(as_text=True)

    robots = RobotFileParser()
    robots.parse(body.splitlines())
    assert robots.crawl_delay("citybot") == 1
    assert not robots.can_fetch("citybot", f"{ORIGIN}/kanri/index.html")
    assert robots.can_fetch("citybot", f"{ORIGIN}/kurashi/index.html")


def test_sitemap_lists_every_public_page_and_nothing_else(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    locs = _sitemap_locs(client)
    assert all(loc.startswith(ORIGIN + "/") for loc in locs)
    paths = [urlsplit(loc).path for loc in locs]
    assert len(paths) == len(set(paths))
    assert ORPHAN in paths
    assert not [p for p in paths if p.startswith("/kanri/")]
    assert sorted(paths) == _public_pages()
    root = ET.fromstring(response.data)
    for url in root.iter(f"{SITEMAP_NS}url"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", url.findtext(f"{SITEMAP_NS}lastmod"))


def test_every_sitemap_url_is_served(client):
    for loc in _sitemap_locs(client):
        assert client.get(urlsplit(loc).path).status_code == 200, loc


def test_orphan_page_is_reachable_only_through_the_sitemap(links_by_page):
    assert ORPHAN_MARKER in _text(ORPHAN)
    assert not [page for page, links in links_by_page.items() if ORPHAN in links and page != ORPHAN]


def test_kanri_pages_are_linked_from_one_footer_but_disallowed(client):
    for page in KANRI_PAGES:
        assert KANRI_MARKER in _text(page)
    footers = [page for page in _public_pages() if "/kanri/index.html" in _internal(page, _parse(page).footer_links)]
    assert len(footers) == 1
    assert "Disallow: /kanri/" in client.get("/robots.txt").get_data(as_text=True)


# ------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("page", SHIFT_JIS_PAGES)
def test_shift_jis_pages_are_served_without_charset_and_decode_as_cp932(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    raw = response.data
    assert b'<meta charset="Shift_JIS">' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("shift_jis")  # uses CP932-only characters (①, 髙, ㈱ …)
    text = raw.decode("cp932")
    assert SJIS_MARKER in text
    assert re.search("[①②③④⑤㈱髙]", text)


def test_utf8_pages_keep_their_charset(client):
    for page in ["/index.html", "/kurashi/jutaku.html", "/kanri/index.html"]:
        response = client.get(page)
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        response.data.decode("utf-8")


# ------------------------------------------------------------------------- redirects & hidden paths

@pytest.mark.parametrize(("source", "expected"), REDIRECTS.items())
def test_redirect_rules(client, source, expected):
    response = client.get(source)
    assert (response.status_code, response.headers["Location"]) == expected


def test_redirect_loop_never_reaches_a_page(client):
    seen, path = [], "/loop-a.html"
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 302
        seen.append(path)
        path = response.headers["Location"]
    assert seen == ["/loop-a.html", "/loop-b.html"] * 2 + ["/loop-a.html"]


def test_moved_page_redirect_ends_on_the_new_page(client):
    response = client.get("/kurashi/gomi/old-bunbetsu.html", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/kurashi/gomi/bunbetsu.html"


@pytest.mark.parametrize("path", [
    "/_redirects", "/.git/config", "/.env", "/kurashi/_draft.html", "/kurashi/.hidden.html",
    "/../pyproject.toml", "/%2e%2e/pyproject.toml", "/assets/../../bot/site.py", "/..%2fpyproject.toml",
    "/no-such-page.html",
])
def test_hidden_and_outside_paths_are_404(client, path):
    assert client.get(path).status_code == 404


def test_directories_serve_their_index(client):
    assert client.get("/").status_code == 200
    assert client.get("/kurashi/").data == client.get("/kurashi/index.html").data
    response = client.get("/kurashi")
    assert response.status_code == 301 and response.headers["Location"] == "/kurashi/"


# ------------------------------------------------------------------------- conditional requests

@pytest.mark.parametrize("path", ["/index.html", SHIFT_JIS_PAGES[0], "/files/sodaigomi-guide.pdf",
                                  "/robots.txt", "/sitemap.xml"])
def test_etag_and_last_modified_give_304(client, path):
    first = client.get(path)
    assert first.status_code == 200
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert client.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


# ------------------------------------------------------------------------- PDFs

@pytest.mark.parametrize(("path", "expected"), PDFS.items())
def test_pdfs_are_served_and_their_text_extracts(client, links_by_page, path, expected):
    marker, linked_from = expected
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert 1 <= len(reader.pages) <= 2
    assert marker in "\n".join(page.extract_text() for page in reader.pages)
    assert path in links_by_page[linked_from]


# ------------------------------------------------------------------------- links

def test_every_faq_url_still_resolves(client):
    urls = set()
    for csv_file in sorted((REPO_ROOT / "data/faq/resident").glob("*.csv")):
        with csv_file.open(encoding="utf-8", newline="") as handle:
            urls.update(row["url"] for row in csv.DictReader(handle))
    assert len(urls) >= 30
    for url in sorted(urls):
        assert url.startswith("https://www.city.example.jp/")
        assert client.get(urlsplit(url).path).status_code == 200, url


def test_every_internal_link_resolves_except_the_deliberately_broken_ones(client, links_by_page):
    all_links = set().union(*links_by_page.values())
    assert BROKEN_LINKS <= all_links
    assert set(REDIRECTS) - {"/loop-b.html"} <= all_links
    statuses = {link: client.get(link).status_code for link in sorted(all_links)}
    broken = {link for link, status in statuses.items() if status >= 400}
    assert broken == BROKEN_LINKS
    assert all(statuses[link] == 404 for link in BROKEN_LINKS)
    assert all(status in (200, 301, 302) for link, status in statuses.items() if link not in broken)


# ------------------------------------------------------------------------- a copied site

@pytest.fixture
def copied_site(tmp_path, fake_rasa):
    from bot import create_app

    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "RASA_CLIENT": fake_rasa,
                      "INDEX_ROOT": str(tmp_path / "index"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
                      "SAMPLE_SITE_DIR": str(site)})
    return site, app.test_client()


def test_redirect_rules_are_read_from_the_configured_site(copied_site):
    site, client = copied_site
    (site / "_redirects").write_text("# comment\n\n/old.html /index.html 308\n", encoding="utf-8")
    response = client.get("/old.html")
    assert (response.status_code, response.headers["Location"]) == (308, "/index.html")
    assert client.get("/loop-a.html").status_code == 404
    (site / "_redirects").unlink()
    assert client.get("/old.html").status_code == 404
    assert client.get("/index.html").status_code == 200


def test_empty_site_dir_disables_the_site(tmp_path, fake_rasa):
    from bot import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "RASA_CLIENT": fake_rasa,
                      "INDEX_ROOT": str(tmp_path / "index"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
                      "SAMPLE_SITE_DIR": ""})
    client = app.test_client()
    for path in ["/", "/robots.txt", "/sitemap.xml", "/loop-a.html"]:
        assert client.get(path).status_code == 404
