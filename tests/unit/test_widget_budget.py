"""Size budget of the resident chat widget: widget.js + widget.css ≤ 30 KB gzipped (level 9).

Every resident page of the city's site downloads both files, so they stay small:
no framework, no web font, no CDN.
"""

from __future__ import annotations

import gzip
from pathlib import Path

WIDGET_DIR = Path(__file__).resolve().parents[2] / "web_widget"
BUDGET = 30 * 1024


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def test_widget_js_and_css_fit_the_gzip_budget():
    files = [WIDGET_DIR / "widget.js", WIDGET_DIR / "widget.css"]
    sizes = {f.name: gzipped_size(f) for f in files}
    total = sum(sizes.values())
    detail = ", ".join(f"{name} {size:,} B" for name, size in sizes.items())
    print(f"widget gzip -9: {detail}; total {total:,} B of {BUDGET:,} B budget")
    assert total <= BUDGET, f"widget is {total:,} B gzipped ({detail}), budget {BUDGET:,} B"
