"""Generate the sample PDFs linked from the demo city homepage (``sample_site/files/``).

The PDFs are part of the crawler fixture: each is a short (1–2 page) Japanese guide
with a title and an exact marker sentence that tests look for after text extraction.
They are rendered from HTML by headless Debian Chromium through Playwright (the
Japanese glyphs come from the system ``fonts-noto-cjk`` package), and the generated
files are kept in the repository, so this script only needs to be re-run when the
content below changes::

    .venv/bin/python scripts/make_sample_pdfs.py

Chromium (Skia) writes each font's ``/ToUnicode`` map from the font's cmap, and Noto
CJK draws e.g. 大 and the Kangxi radical ⼤ (U+2F24) with the same glyph, so text
extracted from the raw PDF would read "粗⼤ごみ". :func:`fix_to_unicode` rewrites those
maps to the ordinary characters so that ``pypdf`` extracts exactly the text written here.

Everything in these documents is SAMPLE data (not official information of any city).
"""

from __future__ import annotations

import argparse
import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "sample_site" / "files"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

STYLE = """
@page { size: A4; margin: 20mm 18mm; }
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 11pt; line-height: 1.7; color: #222; }
.sample { border: 1px solid #c90; background: #fff7e0; padding: 4pt 8pt; font-size: 9pt; }
h1 { font-size: 18pt; border-bottom: 3px solid #1d6f42; padding-bottom: 4pt; margin: 8pt 0 6pt; }
h2 { font-size: 13pt; border-left: 6px solid #1d6f42; padding-left: 6pt; margin: 14pt 0 4pt; }
.marker { font-weight: bold; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #888; padding: 3pt 6pt; text-align: left; }
th { background: #eef5f0; }
.footer { margin-top: 18pt; font-size: 9pt; color: #555; }
"""


@dataclass(frozen=True)
class Guide:
    filename: str
    title: str
    marker: str
    body: str  # trusted HTML fragment (written below)


GUIDES = (
    Guide(
        filename="sodaigomi-guide.pdf",
        title="粗大ごみの出し方ガイド（サンプル）",
        marker="このガイドは粗大ごみの申込みから収集までの流れをまとめたものです（サンプル）。",
        body="""
<h2>1. 申込み</h2>
<p>粗大ごみは事前申込制・有料の戸別収集です。粗大ごみ受付センター（電話：000-000-0000（サンプル））
またはインターネットの申込みフォーム（サンプル）でお申し込みください。収集日・料金・受付番号をお伝えします。</p>
<h2>2. 処理券の購入</h2>
<p>市内の取扱店（コンビニエンスストアなど（サンプル））で、料金分の粗大ごみ処理券を購入してください。</p>
<table>
<tr><th>品目</th><th>料金（サンプル）</th></tr>
<tr><td>いす</td><td>400円</td></tr>
<tr><td>自転車</td><td>800円</td></tr>
<tr><td>たんす・本棚</td><td>1,200円</td></tr>
<tr><td>ベッド</td><td>1,600円</td></tr>
</table>
<h2>3. 収集日に出す</h2>
<p>処理券に受付番号を書いて品物に貼り、収集日の朝8時まで（サンプル）に指定の場所へ出してください。立会いは不要です。</p>
<h2>出せないもの</h2>
<p>エアコン、テレビ、冷蔵庫・冷凍庫、洗濯機・衣類乾燥機、パソコンは粗大ごみとして出せません。</p>
""",
    ),
    Guide(
        filename="hoiku-moshikomi-guide.pdf",
        title="保育所等入所申込みの手引き（サンプル）",
        marker="この手引きは保育所等の入所申込みに必要な書類と手順を説明するものです（サンプル）。",
        body="""
<h2>1. 入所の要件</h2>
<p>保護者が就労、妊娠・出産、病気、介護などにより、家庭で保育できないことが要件です。</p>
<h2>2. 申込みの時期（サンプル）</h2>
<table>
<tr><th>区分</th><th>受付期間（サンプル）</th></tr>
<tr><td>4月入所（一次）</td><td>前年10月下旬から11月中旬まで</td></tr>
<tr><td>年度途中の入所</td><td>入所希望月の前月10日まで</td></tr>
</table>
<h2>3. 必要な書類</h2>
<ul>
<li>支給認定申請書兼保育所等利用申込書</li>
<li>保育が必要なことを証明する書類（就労証明書など）</li>
<li>マイナンバーが確認できるものと本人確認書類</li>
</ul>
<h2>4. 結果のお知らせ</h2>
<p>4月入所（一次）の結果は、2月上旬（サンプル）に郵送でお知らせします。お問い合わせは保育課（電話：000-000-0000（サンプル））へ。</p>
""",
    ),
)


def render_html(guide: Guide) -> str:
    """The full HTML document for one guide."""
    title = html.escape(guide.title)
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<p class="sample">これは citybot デモ用のサンプル資料です。習志野市の公式資料ではありません。金額・日程・連絡先はすべて架空です。</p>
<h1>{title}</h1>
<p class="marker">{html.escape(guide.marker)}</p>
{guide.body.strip()}
<p class="footer">習志野市役所（デモ用サンプルサイト）　〒000-0000 （サンプル住所）</p>
</body></html>
"""


# Characters that share a glyph with a more common character in Noto CJK JP; Skia picks
# the lowest code point for the glyph, so map them back to what the text actually contains.
# Other radicals are mapped by NFKC; make_pdfs() checks the result against the source text.
_SAME_GLYPH = {
    0x2003: "\u3000",  # EM SPACE -> IDEOGRAPHIC SPACE
    0x2027: "\u30fb",  # HYPHENATION POINT -> KATAKANA MIDDLE DOT (・)
    0x2F3E: "\u6238",  # KANGXI RADICAL DOOR -> 戸 (the Japanese form; NFKC would give 戶)
}
_HEX = re.compile(r"<([0-9A-Fa-f]+)>")


def _fix_char(ch: str) -> str:
    cp = ord(ch)
    if cp in _SAME_GLYPH:
        return _SAME_GLYPH[cp]
    if 0x2E80 <= cp <= 0x2FDF:  # CJK radicals supplement / Kangxi radicals
        return unicodedata.normalize("NFKC", ch)
    return ch


def _parse_cmap(text: str) -> dict[int, str]:
    """Glyph code -> Unicode text from a ToUnicode CMap's bfchar/bfrange sections."""
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        codes = _HEX.findall(block)
        for src, dst in zip(codes[::2], codes[1::2], strict=True):
            mapping[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for line in block.strip().splitlines():
            lo, hi, *dst = _HEX.findall(line)
            start, end = int(lo, 16), int(hi, 16)
            if "[" in line:  # <lo> <hi> [<d0> <d1> ...]
                for offset, value in enumerate(dst):
                    mapping[start + offset] = bytes.fromhex(value).decode("utf-16-be")
            else:  # <lo> <hi> <d0>: consecutive code points
                first = bytes.fromhex(dst[0]).decode("utf-16-be")
                for offset in range(end - start + 1):
                    mapping[start + offset] = first[:-1] + chr(ord(first[-1]) + offset)
    return mapping


def _write_cmap(text: str, mapping: dict[int, str]) -> str:
    head = text[: text.index("endcodespacerange") + len("endcodespacerange")]
    tail = text[text.index("endcmap"):]
    items = sorted(mapping.items())
    blocks = []
    for i in range(0, len(items), 100):
        chunk = items[i:i + 100]
        lines = [f"<{code:04X}> <{value.encode('utf-16-be').hex().upper()}>" for code, value in chunk]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(lines) + "\nendbfchar")
    return head + "\n" + "\n".join(blocks) + "\n" + tail


def fix_to_unicode(path: Path) -> int:
    """Rewrite radical/look-alike code points in every font's ToUnicode map; return #fixed."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=str(path))
    fixed = 0
    seen: set[int] = set()
    for page in writer.pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            to_unicode = font.get(NameObject("/ToUnicode"))
            if to_unicode is None or id(to_unicode.get_object()) in seen:
                continue
            stream = to_unicode.get_object()
            seen.add(id(stream))
            text = stream.get_data().decode("latin-1")
            mapping = _parse_cmap(text)
            repaired = {code: "".join(map(_fix_char, value)) for code, value in mapping.items()}
            changed = sum(repaired[code] != mapping[code] for code in mapping)
            if changed:
                stream.set_data(_write_cmap(text, repaired).encode("latin-1"))
                fixed += changed
    with open(path, "wb") as handle:
        writer.write(handle)
    return fixed


def check_text(path: Path, guide: Guide) -> None:
    """Fail unless pypdf extracts the title and marker, and only characters of the source."""
    from pypdf import PdfReader

    pages = PdfReader(str(path)).pages
    text = "\n".join(page.extract_text() for page in pages)
    if not 1 <= len(pages) <= 2:
        raise SystemExit(f"{path.name}: {len(pages)} pages (want 1-2)")
    for needle in (guide.title, guide.marker):
        if needle not in text:
            raise SystemExit(f"{path.name}: extracted text lacks {needle!r}")
    strange = set(text) - set(render_html(guide)) - set(" \n")
    if strange:
        raise SystemExit(f"{path.name}: unexpected characters {sorted(strange)}; extend _SAME_GLYPH")


def make_pdfs(out_dir: Path = OUT_DIR) -> list[Path]:
    """Render every guide to ``out_dir`` and return the written paths."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            for guide in GUIDES:
                target = out_dir / guide.filename
                page.set_content(render_html(guide), wait_until="load")
                page.pdf(path=str(target), format="A4", print_background=True)
                fix_to_unicode(target)
                check_text(target, guide)
                written.append(target)
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where to write the PDFs")
    args = parser.parse_args()
    for path in make_pdfs(args.out_dir):
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
