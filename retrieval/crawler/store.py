"""The crawl's SQLite file (SQLAlchemy Core): pages, their passages, links between them,
and the frontier of the current crawl, so an interrupted crawl resumes where it stopped.

Only the crawler's coordinating thread writes; readers (index builds) may open the same
file at any time (WAL journal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

SCHEMA_VERSION = "1"
metadata = MetaData()

meta_table = Table(
    "meta", metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)
pages_table = Table(
    "pages", metadata,
    Column("url", String, primary_key=True),
    Column("final_url", String, nullable=False),
    Column("status", Integer, nullable=False),
    Column("kind", String, nullable=False),  # html | pdf
    Column("content_type", String, nullable=False, default=""),
    Column("encoding", String, nullable=False, default=""),
    Column("etag", String),
    Column("last_modified", String),
    Column("content_hash", String, nullable=False, index=True),
    Column("title", Text, nullable=False, default=""),
    Column("category", Text, nullable=False, default=""),
    Column("updated_at", String),
    Column("fetched_at", String, nullable=False),
    Column("audience", String, nullable=False),
    Column("extractor_version", String, nullable=False, default=""),
)
passages_table = Table(
    "passages", metadata,
    Column("passage_id", String, primary_key=True),
    Column("url", String, nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("page_title", Text, nullable=False),
    Column("heading", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("category", Text, nullable=False, default=""),
    Column("updated_at", String),
)
links_table = Table(
    "links", metadata,
    Column("from_url", String, nullable=False),
    Column("to_url", String, nullable=False, index=True),
    Column("kind", String, nullable=False),  # link | sitemap | seed
    Column("text", Text, nullable=False, default=""),
    Column("status", String),  # resolved at the end of a crawl: ok, not_found, redirect_loop, external …
    Column("http_status", Integer),
    Column("detail", Text, nullable=False, default=""),
    PrimaryKeyConstraint("from_url", "to_url", "kind"),
)
frontier_table = Table(
    "frontier", metadata,
    Column("url", String, primary_key=True),
    Column("seq", Integer, nullable=False, index=True),
    Column("state", String, nullable=False, index=True),  # queued | in_progress | done
    Column("source", String, nullable=False),  # seed | sitemap | link | redirect | known
    Column("referrer", String, nullable=False, default=""),
    Column("hops", Integer, nullable=False, default=0),  # redirects followed to get here
    Column("outcome", String),  # new | changed | unchanged | redirect | http_error | skipped_type | too_large | error
    Column("status", Integer),
    Column("redirect_to", String),
    Column("error", Text, nullable=False, default=""),
)

ALIVE = ("new", "changed", "unchanged")
TRANSIENT = ("error",)
DEAD_KINDS = ("not_found", "gone", "http_error", "redirect_loop", "too_many_redirects", "offsite_redirect", "error")


@dataclass(frozen=True)
class PagePassage:
    """One searchable passage of a crawled page."""

    passage_id: str
    url: str
    page_title: str
    heading: str
    text: str
    category: str
    updated_at: str

    @property
    def title(self) -> str:
        """「ページ名 > 見出し」 (the page name alone for the lead passage)."""
        return f"{self.page_title} > {self.heading}" if self.heading else self.page_title


@dataclass(frozen=True)
class DeadLink:
    """A link (or sitemap entry) whose target is missing, loops, or leaves the site."""

    source_url: str
    target_url: str
    kind: str  # not_found | gone | http_error | redirect_loop | too_many_redirects | offsite_redirect | error
    http_status: int | None
    detail: str
    link_text: str = ""


@dataclass(frozen=True)
class PageRecord:
    url: str
    final_url: str
    status: int
    kind: str
    content_type: str
    encoding: str
    etag: str | None
    last_modified: str | None
    content_hash: str
    title: str
    category: str
    updated_at: str | None
    fetched_at: str
    audience: str
    extractor_version: str


@dataclass(frozen=True)
class FrontierRow:
    url: str
    state: str
    source: str
    referrer: str
    hops: int
    outcome: str | None
    status: int | None
    redirect_to: str | None
    error: str


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class PageStore:
    """The crawled pages of one audience in one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            version = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
            if version is None:
                conn.execute(insert(meta_table).values(key="schema_version", value=SCHEMA_VERSION))
            elif version != SCHEMA_VERSION:
                raise ValueError(f"{self.path}: page store schema {version}, this crawler writes {SCHEMA_VERSION}; "
                                 "delete the file and crawl again")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------

    def passages(self) -> list[PagePassage]:
        """Every passage, in page and reading order; a page served under two URLs counts once."""
        representative = self._representatives()
        query = select(passages_table).order_by(passages_table.c.url, passages_table.c.seq)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            PagePassage(r.passage_id, r.url, r.page_title, r.heading, r.text, r.category or "", r.updated_at or "")
            for r in rows if r.url in representative
        ]

    def _representatives(self) -> set[str]:
        best: dict[str, str] = {}
        with self.engine.connect() as conn:
            for url, content_hash in conn.execute(select(pages_table.c.url, pages_table.c.content_hash)):
                current = best.get(content_hash)
                if current is None or (len(url), url) < (len(current), current):
                    best[content_hash] = url
        return set(best.values())

    def pages(self) -> list[PageRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(pages_table).order_by(pages_table.c.url)).all()
        return [PageRecord(**row._asdict()) for row in rows]

    def page(self, url: str) -> PageRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(pages_table).where(pages_table.c.url == url)).first()
        return PageRecord(**row._asdict()) if row else None

    def dead_links(self) -> list[DeadLink]:
        """Links found by the last finished crawl whose target is dead (see :data:`DEAD_KINDS`)."""
        query = (select(links_table).where(links_table.c.status.in_(DEAD_KINDS))
                 .order_by(links_table.c.to_url, links_table.c.from_url))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [DeadLink(r.from_url, r.to_url, r.status, r.http_status, r.detail, r.text) for r in rows]

    def links_from(self, url: str) -> list[tuple[str, str]]:
        """(target, anchor text) of the links stored for page ``url``."""
        query = select(links_table.c.to_url, links_table.c.text).where(
            links_table.c.from_url == url, links_table.c.kind == "link")
        with self.engine.connect() as conn:
            return [(r.to_url, r.text) for r in conn.execute(query)]

    def link_hint(self, url: str) -> tuple[str, str]:
        """(anchor text, category of the linking page) for ``url`` — titles and categories for PDFs."""
        query = (select(links_table.c.text, pages_table.c.category)
                 .join(pages_table, pages_table.c.url == links_table.c.from_url, isouter=True)
                 .where(links_table.c.to_url == url, links_table.c.kind == "link")
                 .order_by(func.length(links_table.c.text).desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row.text or "", row.category or "") if row else ("", "")

    def meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def set_meta(self, **values: str) -> None:
        with self.engine.begin() as conn:
            for key, value in values.items():
                stmt = sqlite_insert(meta_table).values(key=key, value=value)
                conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    # --- the crawl's frontier -------------------------------------------------------

    def begin_crawl(self, fingerprint: str, resume: bool) -> bool:
        """Start a crawl; True when an interrupted crawl with the same fingerprint is resumed."""
        if resume and self.meta("crawl_state") == "running" and self.meta("crawl_fingerprint") == fingerprint:
            with self.engine.begin() as conn:
                conn.execute(update(frontier_table).where(frontier_table.c.state == "in_progress")
                             .values(state="queued"))
            return True
        with self.engine.begin() as conn:
            conn.execute(delete(frontier_table))
            conn.execute(delete(links_table).where(links_table.c.kind != "link"))  # re-found by this crawl
        self.set_meta(crawl_state="running", crawl_fingerprint=fingerprint, crawl_started=now_iso())
        return False

    def enqueue(self, url: str, source: str, referrer: str = "", hops: int = 0) -> bool:
        """Add ``url`` to the frontier unless it is already there; True if added."""
        with self.engine.begin() as conn:
            seq = conn.execute(select(func.coalesce(func.max(frontier_table.c.seq), 0))).scalar() + 1
            stmt = sqlite_insert(frontier_table).values(
                url=url, seq=seq, state="queued", source=source, referrer=referrer, hops=hops, error="")
            return conn.execute(stmt.on_conflict_do_nothing(index_elements=["url"])).rowcount == 1

    def known(self, url: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(frontier_table.c.url).where(frontier_table.c.url == url)).first() is not None

    def claim(self, limit: int) -> list[FrontierRow]:
        """Up to ``limit`` queued URLs in discovery order, marked in progress."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(frontier_table).where(frontier_table.c.state == "queued")
                                .order_by(frontier_table.c.seq).limit(limit)).all()
            if rows:
                conn.execute(update(frontier_table).where(frontier_table.c.url.in_([r.url for r in rows]))
                             .values(state="in_progress"))
        return [_frontier_row(r) for r in rows]

    def requeue(self, url: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(frontier_table).where(frontier_table.c.url == url).values(state="queued"))

    def frontier(self) -> dict[str, FrontierRow]:
        with self.engine.connect() as conn:
            return {r.url: _frontier_row(r) for r in conn.execute(select(frontier_table))}

    def counts(self) -> dict[str, int]:
        """Frontier rows by state."""
        query = select(frontier_table.c.state, func.count()).group_by(frontier_table.c.state)
        with self.engine.connect() as conn:
            return {state: n for state, n in conn.execute(query)}

    def finish_url(self, url: str, outcome: str, status: int | None = None, redirect_to: str | None = None,
                   error: str = "") -> None:
        with self.engine.begin() as conn:
            self._finish(conn, url, outcome, status, redirect_to, error)

    @staticmethod
    def _finish(conn, url, outcome, status, redirect_to, error) -> None:
        conn.execute(update(frontier_table).where(frontier_table.c.url == url).values(
            state="done", outcome=outcome, status=status, redirect_to=redirect_to, error=error[:500]))

    # --- pages ------------------------------------------------------------------

    def save_page(self, page: dict, passages: Iterable[dict], links: Iterable[tuple[str, str]],
                  outcome: str) -> None:
        """Insert or replace a page with its passages and outgoing links, and finish its frontier row."""
        url = page["url"]
        with self.engine.begin() as conn:
            conn.execute(delete(passages_table).where(passages_table.c.url == url))
            conn.execute(delete(links_table).where(links_table.c.from_url == url, links_table.c.kind == "link"))
            stmt = sqlite_insert(pages_table).values(**page)
            conn.execute(stmt.on_conflict_do_update(index_elements=["url"],
                                                    set_={k: v for k, v in page.items() if k != "url"}))
            rows = list(passages)
            if rows:
                conn.execute(insert(passages_table), rows)
            seen: dict[str, str] = {}
            for target, text in links:
                if target != url and (target not in seen or (text and not seen[target])):
                    seen[target] = text
            if seen:
                conn.execute(insert(links_table), [
                    {"from_url": url, "to_url": t, "kind": "link", "text": text, "detail": ""}
                    for t, text in seen.items()])
            self._finish(conn, url, outcome, page["status"], None, "")

    def touch_page(self, url: str, etag: str | None, last_modified: str | None, outcome: str = "unchanged") -> None:
        """An unchanged page: new validators and fetch time, passages untouched."""
        values = {"fetched_at": now_iso()}
        if etag:
            values["etag"] = etag
        if last_modified:
            values["last_modified"] = last_modified
        with self.engine.begin() as conn:
            conn.execute(update(pages_table).where(pages_table.c.url == url).values(**values))
            self._finish(conn, url, outcome, 200, None, "")

    def add_links(self, source: str, targets: Iterable[str], kind: str) -> None:
        """Non-page references (sitemap entries, the start URL) for the dead-link report."""
        rows = [{"from_url": source, "to_url": t, "kind": kind, "text": "", "detail": ""} for t in targets]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(sqlite_insert(links_table).on_conflict_do_nothing(), rows)

    # --- the end of a crawl --------------------------------------------------------------

    def finish_crawl(self, complete: bool, resolve: Callable[[str], tuple[str, int | None, str]]) -> int:
        """Remove gone pages, resolve every link's status; returns the number of pages removed.

        Pages that answered 404/410, now redirect, or are no longer HTML/PDF are removed;
        after a *complete* crawl also every page that was not reached. A page whose fetch
        failed transiently (timeouts, 5xx) is kept.
        """
        frontier = self.frontier()
        with self.engine.connect() as conn:
            stored = set(conn.execute(select(pages_table.c.url)).scalars())
        keep = {url for url, row in frontier.items() if row.state == "done"
                and (row.outcome in ALIVE or row.outcome in TRANSIENT
                     or (row.outcome == "http_error" and (row.status or 0) >= 500))}
        if complete:
            gone = stored - keep
        else:
            gone = {url for url in stored if url in frontier and frontier[url].state == "done" and url not in keep}
        with self.engine.begin() as conn:
            for chunk in _chunks(sorted(gone), 500):
                conn.execute(delete(passages_table).where(passages_table.c.url.in_(chunk)))
                conn.execute(delete(links_table).where(links_table.c.from_url.in_(chunk)))
                conn.execute(delete(pages_table).where(pages_table.c.url.in_(chunk)))
            targets = [r[0] for r in conn.execute(select(links_table.c.to_url).distinct())]
            for target in targets:
                status, http_status, detail = resolve(target)
                conn.execute(update(links_table).where(links_table.c.to_url == target)
                             .values(status=status, http_status=http_status, detail=detail))
        self.set_meta(crawl_state="complete" if complete else "truncated", crawl_finished=now_iso())
        return len(gone)


def _frontier_row(row) -> FrontierRow:
    return FrontierRow(row.url, row.state, row.source, row.referrer, row.hops, row.outcome, row.status,
                       row.redirect_to, row.error)


def _chunks(items: list[str], size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
