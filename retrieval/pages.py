"""Crawled homepage passages as searchable entries, and the snippet shown to a resident.

A passage becomes an entry whose "question" is its heading path (「ページ名 > 見出し」)
and whose "answer" is its text, so pages go through exactly the FAQ pipeline
(normaliser, encoder, BM25, fusion) into their own index per audience.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from retrieval.faq import FaqEntry

if TYPE_CHECKING:
    from retrieval.crawler import PagePassage
    from retrieval.index import SearchHit

PAGE_PREFIX = "page:"
SNIPPET_CHARS = 120


def passage_entries(passages: Iterable[PagePassage]) -> list[FaqEntry]:
    entries = []
    for p in passages:
        if not p.text.strip():
            continue
        entries.append(FaqEntry(
            faq_id=PAGE_PREFIX + p.passage_id, question=p.title, answer=p.text.strip(), url=p.url,
            category1=p.category or "", updated_at=p.updated_at or "",
        ))
    return entries


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a passage, cut at a sentence end when one is near the limit."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind("。", 0, limit)
    return text[: cut + 1] if cut >= limit // 2 else text[:limit] + "…"


def first_hit_per_page(hits: list[SearchHit]) -> list[SearchHit]:
    """Ranked passages → the best passage of each page (URL), in rank order."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.url not in seen:
            seen.add(hit.url)
            out.append(hit)
    return out
