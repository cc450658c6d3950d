"""The guided procedures (児童手当, 保育, 妊娠届, 介護保険, 罹災証明): catalogue and detection.

``procedures.yml`` lists each procedure with the words residents use for it and the
parts of a guided answer (who, what to bring, where, when, online). A follow-up such
as 「それはオンラインでできますか？」 is resolved to one of those parts (:func:`aspect_of`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from retrieval.textnorm import normalize_text

ASPECTS = ("online", "bring", "where", "who", "when")
#: aspect -> patterns (on normalised text) that ask for it
ASPECT_PATTERNS: dict[str, re.Pattern] = {
    "online": re.compile(r"オンライン|ネット|インターネット|電子申請|web|ウェブ|スマホ|スマートフォン|パソコンから|マイナポータル|ぴったり"),
    "bring": re.compile(r"必要な(もの|物|書類)|持ち物|持っていく|持参|用意|準備する(もの|物)|何がいる|何が要る|書類"),
    "where": re.compile(r"どこ|窓口|場所|どの課|何課"),
    "who": re.compile(r"誰|だれ|対象|もらえる人|受け取れる|資格"),
    "when": re.compile(r"いつ|期限|締め切り|締切|何日以内|までに"),
}
ASPECT_LABELS = {"online": "オンライン申請", "bring": "必要なもの", "where": "窓口", "who": "対象", "when": "期限"}


class ProcedureDataError(ValueError):
    """procedures.yml is missing a field or refers to something unknown."""


@dataclass(frozen=True)
class Procedure:
    key: str
    name: str
    aliases: tuple[str, ...]
    department: str
    url: str
    summary: str
    who: str
    bring: tuple[str, ...]
    where: str
    when: str
    online_available: bool
    online_url: str
    online_note: str
    faq_ids: tuple[str, ...] = field(default=())


_REQUIRED = ("key", "name", "aliases", "department", "url", "summary", "who", "bring", "where", "when", "online")


def _procedure(raw: dict, position: int) -> Procedure:
    missing = [k for k in _REQUIRED if not raw.get(k) and raw.get(k) is not False]
    if missing:
        raise ProcedureDataError(f"procedures.yml {position}件目: {', '.join(missing)} がありません。")
    online = raw["online"] or {}
    return Procedure(
        key=str(raw["key"]), name=str(raw["name"]), aliases=tuple(str(a) for a in raw["aliases"]),
        department=str(raw["department"]), url=str(raw["url"]), summary=str(raw["summary"]).strip(),
        who=str(raw["who"]).strip(), bring=tuple(str(b) for b in raw["bring"]), where=str(raw["where"]).strip(),
        when=str(raw["when"]).strip(), online_available=bool(online.get("available")),
        online_url=str(online.get("url") or ""), online_note=str(online.get("note") or "").strip(),
        faq_ids=tuple(str(f) for f in raw.get("faq_ids") or ()),
    )


class ProcedureCatalogue:
    def __init__(self, procedures: list[Procedure]):
        self.procedures = procedures
        self._by_key = {p.key: p for p in procedures}
        words = [(normalize_text(alias), p) for p in procedures for alias in (p.name, *p.aliases)]
        self._words = sorted(((w, p) for w, p in words if w), key=lambda pair: -len(pair[0]))

    @classmethod
    def load(cls, path: str | Path) -> ProcedureCatalogue:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        raw = data.get("procedures")
        if not isinstance(raw, list) or not raw:
            raise ProcedureDataError("procedures.yml: procedures の一覧がありません。")
        return cls([_procedure(item, i) for i, item in enumerate(raw, start=1)])

    def get(self, key: str | None) -> Procedure | None:
        return self._by_key.get(key or "")

    def find(self, text: str) -> Procedure | None:
        """The procedure named in ``text`` (longest alias first)."""
        normalized = normalize_text(text)
        return next((p for word, p in self._words if word in normalized), None)


def aspect_of(text: str) -> str | None:
    """Which part of a procedure a follow-up asks about (online, bring, where, who, when)."""
    normalized = normalize_text(text)
    return next((aspect for aspect, pattern in ASPECT_PATTERNS.items() if pattern.search(normalized)), None)
