"""Test kit for the crawler tests: small sites served by the real Flask app on 127.0.0.1,
with every request recorded server-side, and a tiny PDF writer (Japanese text via a
ToUnicode CMap, so pypdf can extract it). The tests at the bottom check the kit itself.

Sites are directories like ``sample_site/``; beyond what the gateway serves, the kit adds
(in the test app only): a ``_redirects`` file (``/from /to 301`` per line), ``dynamic``
routes (a path → a Flask response), and ``text/html`` without a charset, as many city
web servers send it.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server


@dataclass(frozen=True)
class Hit:
    at: float  # time.monotonic() when the request arrived
    path: str
    status: int
    user_agent: str
    if_none_match: str
    if_modified_since: str


@dataclass
class ServedSite:
    root: Path
    url: str  # http://127.0.0.1:PORT
    hits: list[Hit] = field(default_factory=list)
    dynamic: dict[str, Callable] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [h.path for h in self.hits]

    def page_hits(self) -> list[Hit]:
        """Requests for pages (not robots.txt or sitemaps)."""
        with self.lock:
            return [h for h in self.hits if h.path not in ("/robots.txt",) and not h.path.endswith("sitemap.xml")]

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()


class Recorder:
    """WSGI middleware: remembers each request's arrival time, path, status and headers."""

    def __init__(self, app, site: ServedSite):
        self.app, self.site = app, site

    def __call__(self, environ, start_response):
        arrived = time.monotonic()
        seen = {}

        def recording_start(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start)
        with self.site.lock:
            self.site.hits.append(Hit(arrived, environ.get("PATH_INFO", ""), seen.get("status", 0),
                                      environ.get("HTTP_USER_AGENT", ""), environ.get("HTTP_IF_NONE_MATCH", ""),
                                      environ.get("HTTP_IF_MODIFIED_SINCE", "")))
        return result


def _redirects(root: Path) -> dict[str, tuple[str, int]]:
    path = root / "_redirects"
    table = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) >= 2:
                table[parts[0]] = (parts[1], int(parts[2]) if len(parts) > 2 else 301)
    return table


@contextmanager
def serve_site(root: Path, strip_charset: bool = True) -> Iterator[ServedSite]:
    """Serve ``root`` with ``bot.create_app`` on 127.0.0.1 (free port) in a thread."""
    from flask import redirect, request

    from bot import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SAMPLE_SITE_DIR": str(root)})
    site = ServedSite(root=root, url="")

    @app.before_request
    def test_routes():
        handler = site.dynamic.get(request.path)
        if handler is not None:
            return handler()
        target = _redirects(root).get(request.path)
        if target is not None:
            return redirect(target[0], code=target[1])
        return None

    @app.after_request
    def no_charset(response):
        if strip_charset and response.mimetype == "text/html":
            response.headers["Content-Type"] = "text/html"
        return response

    app.wsgi_app = Recorder(app.wsgi_app, site)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    site.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def write_files(root: Path, files: dict[str, str | bytes], encoding: str = "utf-8") -> None:
    """Write ``{relative path: text or bytes}`` under ``root`` (text in ``encoding``)."""
    for name, content in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))


GLOBAL_NAV = "グローバルナビ専用の項目"
FOOTER_ADDRESS = "〒999-9999 架空県テスト市役所通り1番1号"
PAGETOP = "このページの先頭へ"


def city_page(title: str, body: str, crumbs: tuple[str, ...] = ("くらし・手続き",), updated: str = "",
              charset: str = "utf-8", meta: str = "charset", home: str = "/city/index.html") -> str:
    """A page shaped like the city's: header + global nav + breadcrumb + main + footer."""
    if meta == "charset":
        head = f'<meta charset="{charset}">'
    elif meta == "http-equiv":
        head = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    else:
        head = ""
    crumb_items = "".join(f'<li><a href="{home}">{c}</a></li>' for c in crumbs)
    update_line = f'<p class="update">更新日：{updated}</p>' if updated else ""
    return f"""<!DOCTYPE html>
<html lang="ja"><head>{head}<title>{title}｜テスト市</title></head>
<body id="top">
<a class="skip-link" href="#main">本文へスキップ</a>
<header class="site-header"><p class="site-name"><a href="{home}">テスト市</a></p>
<nav class="global-nav" aria-label="グローバルナビゲーション"><ul>
<li><a href="{home}">ホーム</a></li><li><a href="{home}#x">{GLOBAL_NAV}</a></li></ul></nav>
</header>
<nav class="breadcrumb" aria-label="パンくず"><ol><li><a href="{home}">ホーム</a></li>{crumb_items}<li aria-current="page">{title}</li></ol></nav>
<main id="main"><h1>{title}</h1>{update_line}
{body}
</main>
<aside class="side-nav"><h2>関連ページ</h2><ul><li><a href="{home}">サイドメニュー項目</a></li></ul></aside>
<footer class="site-footer"><p class="pagetop"><a href="#top">{PAGETOP}</a></p>
<address>{FOOTER_ADDRESS}</address><p>著作権表示テスト市</p></footer>
</body></html>
"""


# --- PDF -------------------------------------------------------------------------------

def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A small PDF (one text line per string) whose text pypdf extracts exactly."""
    chars = sorted({c for page in pages for line in page for c in line})
    cid = {c: i + 1 for i, c in enumerate(chars)}
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            f"{len(chars)} beginbfchar\n"
            + "\n".join(f"<{cid[c]:04X}> <{c.encode('utf-16-be').hex().upper()}>" for c in chars)
            + "\nendbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end\n").encode("ascii")
    page_ids = [10 + 2 * i for i in range(len(pages))]
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {len(pages)} >>".encode(),
        3: (b"<< /Type /Font /Subtype /Type0 /BaseFont /KozMinPr6N-Regular /Encoding /Identity-H "
            b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>"),
        4: (b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMinPr6N-Regular "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> /DW 1000 >>"),
        5: b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    }
    if title:
        objects[6] = (b"<< /Title <FEFF" + title.encode("utf-16-be").hex().upper().encode()
                      + b"> /ModDate (D:20260401090000+09'00') >>")
    for page_id, lines in zip(page_ids, pages, strict=True):
        ops = ["BT", "/F1 12 Tf", "14 TL", "50 780 Td"]
        ops += ["<" + "".join(f"{cid[c]:04X}" for c in line) + "> Tj T*" for line in lines]
        content = "\n".join([*ops, "ET"]).encode("ascii")
        objects[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>").encode()
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += f"xref\n0 {size}\n".encode() + b"0000000000 65535 f \n"
    for number in range(1, size):
        out += (f"{offsets[number]:010d} 00000 n \n" if number in offsets else "0000000000 65535 f \n").encode()
    info = " /Info 6 0 R" if title else ""
    out += f"trailer\n<< /Size {size} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- the kit's own tests ----------------------------------------------------------------

def test_make_pdf_is_readable_by_pypdf():
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(make_pdf([["粗大ごみ①", "髙橋"], ["二ページ目"]], title="ガイド")))
    assert [p.extract_text().strip() for p in reader.pages] == ["粗大ごみ①\n髙橋", "二ページ目"]
    assert reader.metadata.title == "ガイド"


def test_served_site_records_requests_and_strips_charset(tmp_path):
    import requests

    write_files(tmp_path, {"a.html": "<p>あ</p>", "_redirects": "/old.html /a.html 301\n"})
    with serve_site(tmp_path) as site:
        response = requests.get(site.url + "/old.html", timeout=5)
        assert response.status_code == 200 and response.headers["Content-Type"] == "text/html"
        assert response.content == "<p>あ</p>".encode()
    assert [(h.path, h.status) for h in site.hits] == [("/old.html", 301), ("/a.html", 200)]
