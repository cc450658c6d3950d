"""The city's department directory: phone, place, hours and online page per department.

``departments.csv`` (``department, phone, place, hours, online_url``) has one row per
department named in the FAQ's department column, plus ``代表`` (the switchboard).
An empty ``hours`` means the city's standard office hours.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SWITCHBOARD = "代表"


@dataclass(frozen=True)
class Department:
    name: str
    phone: str
    place: str
    hours: str  # empty: the standard office hours apply
    online_url: str


class DepartmentDirectory:
    def __init__(self, departments: list[Department]):
        self._by_name = {d.name: d for d in departments}
        if SWITCHBOARD not in self._by_name:
            raise ValueError(f"departments.csv: 「{SWITCHBOARD}」の行がありません。")

    @classmethod
    def load(cls, path: str | Path) -> DepartmentDirectory:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return cls([Department(r["department"].strip(), (r.get("phone") or "").strip(), (r.get("place") or "").strip(),
                               (r.get("hours") or "").strip(), (r.get("online_url") or "").strip())
                    for r in rows if (r.get("department") or "").strip()])

    def get(self, name: str | None) -> Department:
        """The department, or the switchboard when it is unknown."""
        return self._by_name.get(name or "", self._by_name[SWITCHBOARD])

    def __contains__(self, name: str) -> bool:
        return name in self._by_name
