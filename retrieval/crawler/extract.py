"""Page → title, category, date, links and passages.

HTML: links come from the whole page; the text comes from the main content only —
navigation, header, footer, breadcrumb, side menus and 「このページの先頭へ」 are cut
away with lxml, the rest goes through trafilatura, and the result is split at h2/h3
into passages whose heading is the heading path (「見出し > 小見出し」). The
breadcrumb gives the category, the 更新日 line (和暦 too) the date.

PDF: pypdf text, one or more passages per page (「2ページ」), split at paragraphs.
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from retrieval.crawler.dates import labelled_date, normalize, parse_date

EXTRACTOR_VERSION = "1"
MAX_PASSAGE_CHARS = 800
HOME_LABELS = {"ホーム", "トップ", "トップページ", "home", "top", "ホームページ"}
BREADCRUMB_XPATH = (
    "//nav[contains(@aria-label, 'パンくず')] | //*[contains(@aria-label, 'パンくず')]"
    " | //*[contains(@aria-label, 'readcrumb')]"
    " | //*[@id='breadcrumb' or @id='breadcrumbs' or @id='topicpath' or @id='pankuzu' or @id='tpath']"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' breadcrumb ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' breadcrumbs ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' topicpath ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' topic-path ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' pankuzu ')]"
)
MAIN_XPATHS = (
    "//main", "//*[@role='main']", "//*[@id='main']", "//*[@id='main-contents']", "//*[@id='main_contents']",
    "//*[@id='contents']", "//*[@id='content']", "//article",
)
DROP_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
             "button", "select", "iframe", "svg", "canvas", "object", "embed", "dialog")
INLINE_TAGS = ("a", "span", "strong", "em", "b", "i", "time", "small", "mark", "abbr")
DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar"}
_BOILERPLATE_TOKEN = re.compile(
    r"^(breadcrumbs?|topic-?path|pankuzu|bread(crumb)?-?list|page-?top|to-?top|back-?to-?top|skip(-?link)?|"
    r"sns|share|social(-?buttons?)?|g-?nav|global-?nav(igation)?|side-?(nav|menu|bar)|sub-?nav|local-?nav|"
    r"site-?(header|footer|info)|footer|foot|header|copyright|print(-?button)?|no-?print|pager|pagination|related-?links?|"
    r"sitemap-?nav|reader|voice|font-?size|moji-?size|lang(uage)?-?(switch|select)|translation)$",
    re.I,
)
BOILERPLATE_LINES = re.compile(
    r"^(このページの(先頭|上|トップ)へ(戻る)?|ページの(先頭|上|トップ)へ(戻る)?|ページトップへ(戻る)?|先頭へ戻る|"
    r"トップへ戻る|本文へ(スキップ|移動)?|メニューへ(スキップ|移動)?|前のページへ戻る|前のページに戻る|印刷(する|用ページ)?|"
    r"ページ番号[:：]?\s*\d*|ホームへ戻る|PDF形式のファイルを(ご覧|開く)いただく(場合|ため)には.*|"
    r"Adobe (Acrobat )?Reader.*(ダウンロード|必要).*|Get Adobe.*)$"
)
_DATE_LINE = re.compile(r"^[\s\[［(（]*(最終)?(更新|掲載|公開|作成|登録)(日|日時)?")
_JUNK_PDF_TITLE = re.compile(r"(?i)^(microsoft (word|excel|powerpoint)\s*-|untitled|無題|document\d*$)|\.(docx?|xlsx?|pptx?|jtd|pdf)$")
_CJK = r"\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff01-\uff9f"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
_SENTENCE_ENDS = ("。", "！", "？", "!", "?", "：", ":")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


# Our input is already cut down to the main content, so even a short page is "long enough":
# otherwise trafilatura falls back to a baseline that flattens headings into one paragraph.
TRAFILATURA_CONFIG = use_config()
TRAFILATURA_CONFIG.set("DEFAULT", "min_extracted_size", "1")
TRAFILATURA_CONFIG.set("DEFAULT", "extraction_timeout", "0")


class ExtractError(ValueError):
    """A body that could not be read as HTML or PDF."""


@dataclass
class Section:
    heading: str  # heading path below the page title, e.g. 「料金 > 減免」, "" for the lead
    text: str


@dataclass
class Link:
    url: str
    text: str = ""


@dataclass
class Extracted:
    title: str
    category: str = ""
    updated_at: str | None = None
    sections: list[Section] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    kind: str = "html"


def passage_id(url: str, heading: str, occurrence: int) -> str:
    """Stable id: the same URL and heading path (and n-th repeat) keep their id across crawls."""
    raw = f"{url}\x1f{heading}\x1f{occurrence}" if occurrence else f"{url}\x1f{heading}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def clean_text(text: str) -> str:
    text = _SPACES.sub(" ", text.replace("\r", ""))
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line and not BOILERPLATE_LINES.match(line))


# --- HTML ------------------------------------------------------------------------

def parse_html(text: str) -> lxml.html.HtmlElement:
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    if not text.strip():
        raise ExtractError("empty HTML document")
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError(f"unreadable HTML: {exc}") from exc


def extract_html(text: str, url: str) -> Extracted:
    """Everything the crawler keeps from one HTML page (``url`` = where it was fetched)."""
    tree = parse_html(text)
    base = url
    for href in tree.xpath("//base/@href")[:1]:
        base = urljoin(url, href.strip())
    links = page_links(tree, base)
    title = page_title(tree)
    category = breadcrumb_category(tree, title)
    updated = page_date(tree)
    main = main_content(tree)
    sections = sections_from_trafilatura(main, url) or sections_from_tree(main)
    return Extracted(title=title, category=category, updated_at=updated, sections=sections, links=links)


def _text(element) -> str:
    return _SPACES.sub(" ", "".join(element.itertext())).strip()


def page_links(tree, base: str) -> list[Link]:
    links: list[Link] = []
    for element in tree.iter("a", "area"):
        href = (element.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            continue
        links.append(Link(urljoin(base, href), _text(element)[:200]))
    return links


def page_title(tree) -> str:
    for xpath in ("//main//h1", "//*[@role='main']//h1", "//h1"):
        for h1 in tree.xpath(xpath):
            text = _text(h1)
            if text:
                return text
    for title in tree.xpath("//title"):
        text = _text(title)
        if text:
            return re.split(r"\s*[｜|]\s*|\s+[-–—]\s+", text)[0].strip() or text
    return ""


def breadcrumb_items(tree) -> list[tuple[str, bool]]:
    """(text, is the current page) for each breadcrumb item."""
    for crumb in tree.xpath(BREADCRUMB_XPATH):
        items = []
        for li in crumb.iter("li"):
            current = li.get("aria-current") == "page" or not li.xpath(".//a[@href]")
            items.append((_text(li), current))
        if not items:
            items = [(_text(a), a.get("aria-current") == "page") for a in crumb.iter("a")]
            tail = re.split(r"[>＞»›]", _text(crumb))[-1].strip()
            if tail and (not items or tail != items[-1][0]):
                items.append((tail, True))
        items = [(re.sub(r"^[>＞»›\s]+|[>＞»›\s]+$", "", text), current) for text, current in items]
        items = [(text, current) for text, current in items if text]
        if items:
            return items
    return []


def breadcrumb_category(tree, title: str) -> str:
    """The breadcrumb without ホーム and the page itself: 「くらし・手続き > ごみ・リサイクル」."""
    items = breadcrumb_items(tree)
    if items and items[0][0].lower() in HOME_LABELS:
        items = items[1:]
    if items and (items[-1][1] or items[-1][0] == title):
        items = items[:-1]
    return " > ".join(text for text, _ in items)


def page_date(tree) -> str | None:
    """更新日 (or 掲載日) written on the page, else a modified date in the meta tags."""
    for root in tree.xpath("//main") or [tree]:
        found = labelled_date(_text_with_breaks(root))
        if found:
            return found
    for content in tree.xpath("//meta[@name='dcterms.modified' or @property='article:modified_time'"
                              " or @name='last-modified' or @name='date']/@content"):
        found = parse_date(content)
        if found:
            return found
    return None


def _text_with_breaks(element) -> str:
    parts = []
    for node in element.iter():
        if node.tag in ("p", "div", "li", "br", "dd", "dt", "span", "time", "h1", "h2", "h3"):
            parts.append("\n")
        if isinstance(node.tag, str) and node.tag not in ("script", "style") and node.text:
            parts.append(node.text)
        if node.tail:
            parts.append(node.tail)
    return "".join(parts)


def _is_boilerplate(element) -> bool:
    if element.tag in DROP_TAGS:
        return True
    if (element.get("role") or "").lower() in DROP_ROLES or element.get("aria-hidden") == "true":
        return True
    label = element.get("aria-label") or ""
    if "パンくず" in label or "readcrumb" in label:
        return True
    tokens = (element.get("class") or "").split() + (element.get("id") or "").split()
    if any(_BOILERPLATE_TOKEN.match(token) for token in tokens):
        return True
    if element.tag == "a" and (element.get("href") or "").strip() in ("#top", "#", "#page-top", "#pagetop"):
        return True
    if element.tag in ("p", "div", "span", "li", "dl", "time", "a") and len(_text(element)) <= 60:
        text = normalize(_text(element))
        if BOILERPLATE_LINES.match(text) or (_DATE_LINE.match(text) and labelled_date(text)):
            return True
    return False


def main_content(tree):
    """A cleaned copy of the page's main content (the whole body when there is no ``<main>``)."""
    tree = copy.deepcopy(tree)
    for element in list(tree.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(element)
    for element in list(tree.iter()):
        if isinstance(element.tag, str) and element.getparent() is not None and _is_boilerplate(element):
            _drop(element)
    for element in tree.iter(*INLINE_TAGS):  # 「リンク」「説明」 side by side must not run together
        following = element.getnext()
        if not (element.tail or "").strip() and following is not None and following.tag in INLINE_TAGS:
            element.tail = " " + (element.tail or "")
    for xpath in MAIN_XPATHS:
        found = [e for e in tree.xpath(xpath) if _text(e)]
        if found:
            return found[0]
    body = tree.find("body")
    return body if body is not None else tree


def _drop(element) -> None:
    """Remove ``element`` but keep the text that followed it."""
    if hasattr(element, "drop_tree"):
        element.drop_tree()
    elif element.getparent() is not None:
        element.getparent().remove(element)


def sections_from_trafilatura(main, url: str) -> list[Section]:
    wrapper = lxml.html.document_fromstring("<html><head><title></title></head><body></body></html>")
    wrapper.find("body").append(copy.deepcopy(main))
    html = lxml.html.tostring(wrapper, encoding="unicode")
    try:
        xml = trafilatura.extract(html, url=url, output_format="xml", include_tables=True, include_comments=False,
                                  include_links=False, include_images=False, deduplicate=False, favor_recall=True,
                                  with_metadata=False, config=TRAFILATURA_CONFIG)
    except Exception:  # trafilatura's own fallbacks can fail on odd markup: use ours
        return []
    if not xml:
        return []
    root = etree.fromstring(xml.encode("utf-8"))
    body = root.find("main")
    if body is None:
        return []
    builder = SectionBuilder()
    for block in body:
        tag = block.tag if isinstance(block.tag, str) else ""
        if tag == "head":
            builder.heading(_heading_level(block.get("rend", "")), _xml_text(block))
        elif tag == "list":
            builder.add("\n".join(_list_lines(block)))
        elif tag == "table":
            builder.add("\n".join(_table_lines(block, "row", "cell")))
        else:
            builder.add(_xml_text(block))
    return builder.finish()


def _heading_level(rend: str) -> int:
    match = re.match(r"h(\d)", rend or "")
    return int(match.group(1)) if match else 4


def _xml_text(element) -> str:
    def inline(node) -> str:
        parts = [node.text or ""]
        for child in node:
            parts.append("\n" if child.tag == "lb" else inline(child))
            parts.append(child.tail or "")
        return "".join(parts)

    return inline(element).strip()


def _list_lines(element, depth: int = 0) -> list[str]:
    lines = []
    for item in element:
        if item.tag != "item":
            continue
        nested = [child for child in item if child.tag == "list"]
        for child in nested:
            item.remove(child)
        text = _xml_text(item)
        if text:
            lines.append("　" * depth + "・" + text)
        for child in nested:
            lines.extend(_list_lines(child, depth + 1))
    return lines


def _table_lines(element, row_tag: str, cell_tags) -> list[str]:
    lines = []
    for row in element.iter(row_tag):
        cells = [_SPACES.sub(" ", "".join(c.itertext())).strip() for c in row if c.tag in cell_tags]
        cells = [c for c in cells if c]
        if cells:
            lines.append(" / ".join(cells))
    return lines


def sections_from_tree(main) -> list[Section]:
    """Our own walk of the cleaned main content, for pages trafilatura returns nothing for."""
    builder = SectionBuilder()
    block_tags = {"p", "li", "dt", "dd", "pre", "blockquote", "caption", "figcaption", "address"}

    def walk(element) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                builder.heading(int(child.tag[1]), _text(child))
            elif child.tag == "table":
                builder.add("\n".join(_table_lines(child, "tr", ("td", "th"))))
            elif child.tag in block_tags and not child.xpath(".//p|.//li|.//h2|.//h3|.//table"):
                builder.add(("・" if child.tag == "li" else "") + _text(child))
            else:
                if child.text and child.text.strip():
                    builder.add(child.text.strip())
                walk(child)
            if child.tail and child.tail.strip():
                builder.add(child.tail.strip())

    walk(main)
    return builder.finish()


class SectionBuilder:
    """Collects text blocks under the current h2/h3 path; h4 and below stay inside the text."""

    def __init__(self) -> None:
        self.path: list[str] = []
        self.lines: list[str] = []
        self.sections: list[Section] = []

    def heading(self, level: int, text: str) -> None:
        text = _SPACES.sub(" ", text).strip()
        if not text:
            return
        if level >= 4:
            self.add(f"【{text}】")
            return
        self.flush()
        if level == 1:
            self.path = []
        elif level == 2:
            self.path = [text]
        else:
            self.path = self.path[:1] + [text]

    def add(self, text: str) -> None:
        text = clean_text(text)
        if text:
            self.lines.append(text)

    def flush(self) -> None:
        text = "\n".join(self.lines).strip()
        self.lines = []
        if text:
            self.sections.extend(Section(" > ".join(self.path), chunk) for chunk in chunk_text(text))

    def finish(self) -> list[Section]:
        self.flush()
        return self.sections


def chunk_text(text: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Split at line (then sentence) boundaries into pieces of at most about ``limit`` characters."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for line in text.split("\n"):
        if len(line) <= limit:
            pieces.append(line)
            continue
        sentences = re.split(r"(?<=。)", line)
        current = ""
        for sentence in sentences:
            while len(sentence) > limit:
                pieces.append(sentence[:limit])
                sentence = sentence[limit:]
            if len(current) + len(sentence) > limit and current:
                pieces.append(current)
                current = ""
            current += sentence
        if current:
            pieces.append(current)
    chunks, current = [], ""
    for piece in pieces:
        if current and len(current) + 1 + len(piece) > limit:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


# --- PDF -------------------------------------------------------------------------

def extract_pdf(body: bytes, url: str, title_hint: str = "", category_hint: str = "") -> Extracted:
    """Text of a PDF: per page, split at blank lines into passages titled 「Nページ」."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, NotImplementedError) as exc:
        raise ExtractError(f"unreadable PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises many things on broken files
        raise ExtractError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    texts = [_pdf_text(page) for page in pages]
    meta_title = (getattr(meta, "title", None) or "").strip() if meta else ""
    first_line = next((line for text in texts for line in text.split("\n") if line.strip()), "")
    candidates = (meta_title if not _JUNK_PDF_TITLE.search(meta_title) else "", _clean_link_title(title_hint),
                  first_line[:60], unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
    title = next((t for t in candidates if t), "")
    updated = None
    if meta:
        try:
            modified = meta.modification_date or meta.creation_date
        except Exception:
            modified = None
        if modified is not None:
            updated = modified.date().isoformat()
    sections: list[Section] = []
    several = sum(1 for t in texts if t) > 1
    for number, text in enumerate(texts, 1):
        if not text:
            continue
        heading = f"{number}ページ" if several else ""
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        for chunk in chunk_text("\n".join(paragraphs)):
            sections.append(Section(heading, chunk))
    return Extracted(title=title, category=category_hint, updated_at=updated, sections=sections, kind="pdf")


def _clean_link_title(text: str) -> str:
    text = re.sub(r"[（(]\s*PDF[^）)]*[）)]\s*$", "", (text or "").strip(), flags=re.I)
    return re.sub(r"\s*\[?PDF[^\]]*\]?\s*$", "", text, flags=re.I).strip()


def _pdf_text(text: str) -> str:
    return join_wrapped_lines(clean_text(normalize_pdf_spaces(text)))


def join_wrapped_lines(text: str) -> str:
    """Undo the PDF's line wrapping: a line as long as the longest ones on the page that does
    not end a sentence continues on the next line (「（サ」+「ンプル）」 → 「（サンプル）」)."""
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    lengths = sorted((len(line) for line in lines), reverse=True)
    full = 0.85 * lengths[len(lengths) // 5]  # robust to one odd long line
    out = [lines[0]]
    for line in lines[1:]:
        previous = out[-1]
        if len(previous) >= full and not previous.endswith(_SENTENCE_ENDS) and line:
            gap = "" if re.match(rf"[{_CJK}]", previous[-1]) or re.match(rf"[{_CJK}]", line[0]) else " "
            out[-1] = previous + gap + line
        else:
            out.append(line)
    return "\n".join(out)


def normalize_pdf_spaces(text: str) -> str:
    """pypdf often puts spaces between Japanese characters; remove those."""
    return _CJK_GAP.sub("", text)
