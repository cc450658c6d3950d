"""Bytes → text for HTML: BOM, then the HTTP header charset, then ``<meta charset>`` /
http-equiv, then detection (charset_normalizer among the encodings that decode cleanly).

Japanese labels follow the WHATWG Encoding Standard: every Shift_JIS label means CP932
(Windows-31J, which has ① and 髙), and EUC-JP falls back to EUC-JIS-2004 for the NEC
and IBM extensions that Python's ``euc_jp`` lacks. A declared charset that does not
decode cleanly (a server saying UTF-8 about a Shift_JIS file) is not trusted.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "s-jis": "cp932",
    "ms_kanji": "cp932", "ms-kanji": "cp932", "csshiftjis": "cp932", "windows-31j": "cp932",
    "cswindows31j": "cp932", "ms932": "cp932", "cp932": "cp932", "shift_jisx0213": "cp932",
    "euc-jp": "euc_jp", "euc_jp": "euc_jp", "x-euc-jp": "euc_jp", "eucjp": "euc_jp", "cseucpkdfmtjapanese": "euc_jp",
    "iso-2022-jp": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
    # WHATWG: these labels mean windows-1252
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
}
FALLBACKS = {"euc_jp": ("euc_jp", "euc_jis_2004"), "iso2022_jp_ext": ("iso2022_jp_ext", "iso2022_jp_2004")}
DETECT_CANDIDATES = ("utf-8", "cp932", "euc_jp", "euc_jis_2004", "iso2022_jp_ext")
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.I)


def python_codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    name = ALIASES.get(label, label)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return "cp932" if codec == "shift_jis" else codec


def header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset named in ``<meta charset>``/http-equiv or an XML declaration (first 4 KiB)."""
    head = body[:4096]
    match = _META_CHARSET.search(head) or _XML_DECL.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _strict(body: bytes, codec: str) -> str | None:
    for name in FALLBACKS.get(codec, (codec,)):
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def detect(body: bytes) -> str:
    """Best guess among the encodings that decode ``body`` without error."""
    if b"\x1b$" in body and _strict(body, "iso2022_jp_ext") is not None:
        return "iso2022_jp_ext"  # 7-bit JIS escapes would otherwise pass as ASCII
    clean = [name for name in DETECT_CANDIDATES if _strict(body, name) is not None]
    if clean == ["utf-8"] or (clean and clean[0] == "utf-8" and body.isascii()):
        return "utf-8"
    if len(clean) == 1:
        return clean[0]
    best = charset_normalizer.from_bytes(body, cp_isolation=clean or None).best() if clean else None
    if best is None:
        best = charset_normalizer.from_bytes(body).best()
    return python_codec(best.encoding) if best is not None else "cp932"


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, codec used) for an HTML body and its Content-Type header."""
    for bom, codec in BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, "replace"), codec
    for label in (header_charset(content_type), meta_charset(body)):
        codec = python_codec(label)
        if codec:
            text = _strict(body, codec)
            if text is not None:
                return text, codec
    codec = detect(body)
    text = _strict(body, codec)
    return (text, codec) if text is not None else (body.decode(codec, "replace"), codec)
