"""Page dates: 「更新日：令和8年4月1日」, 「最終更新日 2026年4月1日」, 「掲載日：R8.4.1」 … → ``2026-04-01``.

Japanese era years (令和・平成・昭和, 元年 = 1) and Western years, full-width digits,
kanji or ``/ . -`` separators. Impossible dates (2月30日) are rejected.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_ERA_SPAN = {"令和": (2019, 9999), "平成": (1989, 2019), "昭和": (1926, 1989)}
_YEAR = r"(?:(?P<era>令和|平成|昭和|[RHS])\s*(?P<ey>元|\d{1,2})|(?P<y>\d{4}))"
_DATE = re.compile(
    _YEAR + r"\s*(?:年\s*(?P<m1>\d{1,2})\s*月\s*(?P<d1>\d{1,2})\s*日"
    r"|[./\-]\s*(?P<m2>\d{1,2})\s*[./\-]\s*(?P<d2>\d{1,2})(?!\d))"
)
LABELS = ("最終更新日", "更新日", "最終更新", "更新", "掲載日", "公開日", "作成日", "登録日")
_LABELLED = re.compile(r"(?:" + "|".join(LABELS) + r")(?:時)?\s*[:：]?\s*[\[［(（]?\s*")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def parse_date(text: str) -> str | None:
    """The first date written in ``text``, as ISO ``YYYY-MM-DD``."""
    for match in _DATE.finditer(normalize(text)):
        iso = _to_iso(match)
        if iso:
            return iso
    return None


def labelled_date(text: str) -> str | None:
    """The date after an update/publication label (更新日, 掲載日 …), preferring 更新 over 掲載."""
    text = normalize(text)
    found: dict[str, str] = {}
    for label in _LABELLED.finditer(text):
        match = _DATE.match(text, label.end())
        iso = _to_iso(match) if match else None
        if iso:
            kind = "update" if "更新" in label.group(0) else "other"
            found.setdefault(kind, iso)
    return found.get("update") or found.get("other")


def _to_iso(match: re.Match) -> str | None:
    era = match.group("era")
    if era:
        offset = ERAS[era]
        year = offset + (1 if match.group("ey") == "元" else int(match.group("ey")))
        name = {"R": "令和", "H": "平成", "S": "昭和"}.get(era, era)
        low, high = _ERA_SPAN[name]
        if not low <= year <= high:
            return None
    else:
        year = int(match.group("y"))
    month = int(match.group("m1") or match.group("m2"))
    day = int(match.group("d1") or match.group("d2"))
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
