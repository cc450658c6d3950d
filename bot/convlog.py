"""Conversation log: every chat turn, its feedback and the unanswered-question queue.

Text is masked with ``bot.privacy.mask`` before it reaches the database and the gateway's
session id is stored only as a salted SHA-256 prefix. Any SQLAlchemy URL works (SQLite by
default, with WAL; PostgreSQL later). The log must never break the chat: a failed write is
logged and counted in ``dropped_writes`` instead of raised, and the schema is created again
on the next write after a failure (so a log database that was down at start-up heals).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.privacy import mask

log = logging.getLogger(__name__)

KINDS = ("message", "choice")
TIERS = ("answer", "suggest", "unknown", "page", "scripted", "handoff", "feedback", "error")
FEEDBACK_HELPFUL, FEEDBACK_NOT_HELPFUL = "helpful", "not_helpful"
REASONS = ("unknown", "none_of_these", "not_helpful")
STATUSES = ("open", "done")

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Turn(Base):
    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    session_hash: Mapped[str] = mapped_column(String(16), index=True)
    audience: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    masked: Mapped[Any] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16), default="message")
    intent: Mapped[str | None] = mapped_column(String(128))
    tier: Mapped[str | None] = mapped_column(String(16))
    faq_id: Mapped[str | None] = mapped_column(String(128))
    page_id: Mapped[str | None] = mapped_column(String(512))
    score: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    feedback: Mapped[str | None] = mapped_column(String(16))
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Unanswered(Base):
    __tablename__ = "unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id", ondelete="SET NULL"))
    audience: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(obj: Base) -> dict[str, Any]:
    out = {column.key: getattr(obj, column.key) for column in obj.__table__.columns}
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = _utc(value)
    return out


def _sqlite_setup(engine: Engine, url: str) -> None:
    """Parent directory for file databases; WAL and enforced foreign keys on every connection."""
    parsed = make_url(url)
    database = parsed.database or ""
    is_file = database not in ("", ":memory:") and not database.startswith("file:")
    if is_file:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if is_file:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()


class ConversationLog:
    """Writes never raise: failures are logged and counted in ``dropped_writes``."""

    def __init__(self, url: str, salt: str) -> None:
        self.url = url
        self._salt = salt
        self.dropped_writes = 0
        self._lock = threading.Lock()
        # hide_parameters: a failed statement's message never repeats row values in the logs.
        options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
            # One shared in-memory database for every thread, not one per thread.
            options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        self.engine = create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            try:
                _sqlite_setup(self.engine, url)
            except OSError:
                log.exception("conversation log: cannot prepare %s", self.engine.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._schema_ready = False
        self._ensure_schema()

    # -- plumbing -----------------------------------------------------------------------------

    def _ensure_schema(self) -> bool:
        if self._schema_ready:
            return True
        try:
            Base.metadata.create_all(self.engine)
        except Exception:
            log.exception("conversation log: cannot create tables at %s", self.engine.url)
            return False
        self._schema_ready = True
        return True

    def _write(self, what: str, work: Callable[[Session], T], failed: T) -> T:
        """Run ``work`` in one transaction; on any error log, count and return ``failed``."""
        try:
            if not self._ensure_schema():
                raise RuntimeError("conversation log schema unavailable")
            with self._sessions() as session, session.begin():
                return work(session)
        except Exception:
            with self._lock:
                self.dropped_writes += 1
                self._schema_ready = False  # recreate tables on the next write if they went away
            log.exception("conversation log: dropped write (%s)", what)
            return failed

    def session_hash(self, session_id: str) -> str:
        """A stable, salted 16-hex-digit stand-in for the gateway session id."""
        digest = hashlib.sha256(f"{self._salt}\x00{session_id or ''}".encode()).hexdigest()
        return digest[:16]

    def dispose(self) -> None:
        self.engine.dispose()

    # -- writes -------------------------------------------------------------------------------

    def record_turn(
        self,
        session_id: str,
        audience: str,
        text: str,
        *,
        kind: str = "message",
        intent: str | None = None,
        tier: str | None = None,
        faq_id: str | None = None,
        page_id: str | None = None,
        score: float | None = None,
        latency_ms: int = 0,
    ) -> int | None:
        """Store one user turn (masked); the new turn id, or None when the write was dropped."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if tier is not None and tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, not {tier!r}")
        masked = mask(text or "")
        turn = Turn(
            created_at=utcnow(),
            session_hash=self.session_hash(session_id),
            audience=audience,
            text=masked.text,
            masked=masked.counts,
            kind=kind,
            intent=intent,
            tier=tier,
            faq_id=None if faq_id is None else str(faq_id),
            page_id=None if page_id is None else str(page_id),
            score=None if score is None else float(score),
            latency_ms=int(latency_ms or 0),
        )

        def work(session: Session) -> int:
            session.add(turn)
            session.flush()
            return turn.id

        return self._write("turn", work, None)

    def record_feedback(self, turn_id: int, audience: str, helpful: bool) -> bool:
        """Feedback on a turn of the same audience; 'not helpful' also queues the question."""

        def work(session: Session) -> bool:
            turn = session.get(Turn, turn_id)
            if turn is None or turn.audience != audience:
                return False
            previous = turn.feedback
            turn.feedback = FEEDBACK_HELPFUL if helpful else FEEDBACK_NOT_HELPFUL
            turn.feedback_at = utcnow()
            if not helpful and previous != FEEDBACK_NOT_HELPFUL:
                session.add(
                    Unanswered(
                        created_at=utcnow(),
                        turn_id=turn.id,
                        audience=turn.audience,
                        text=turn.text,
                        reason="not_helpful",
                        status="open",
                    )
                )
            return True

        return self._write("feedback", work, False)

    def record_unanswered(
        self, turn_id: int | None, audience: str, text: str, reason: str
    ) -> int | None:
        """Queue a question the bot could not answer (masked); the row id, or None if dropped."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, not {reason!r}")
        row = Unanswered(
            created_at=utcnow(),
            turn_id=turn_id,
            audience=audience,
            text=mask(text or "").text,
            reason=reason,
            status="open",
        )

        def work(session: Session) -> int:
            session.add(row)
            session.flush()
            return row.id

        return self._write("unanswered", work, None)

    def record_unanswered_turn(self, turn_id: int, audience: str, reason: str) -> int | None:
        """Queue the (already masked) question of an earlier turn of the same audience."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, not {reason!r}")

        def work(session: Session) -> int | None:
            turn = session.get(Turn, turn_id)
            if turn is None or turn.audience != audience:
                return None
            row = Unanswered(created_at=utcnow(), turn_id=turn.id, audience=audience, text=turn.text,
                             reason=reason, status="open")
            session.add(row)
            session.flush()
            return row.id

        return self._write("unanswered", work, None)

    def set_unanswered_status(self, unanswered_id: int, status: str) -> bool:
        """Mark a queued question 'done' (or reopen it); False if missing or the write failed."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")

        def work(session: Session) -> bool:
            row = session.get(Unanswered, unanswered_id)
            if row is None:
                return False
            row.status = status
            return True

        return self._write("status", work, False)

    def delete_older_than(self, days: int) -> int:
        """Retention: delete turns and queued questions older than ``days``; rows deleted."""
        cutoff = utcnow() - timedelta(days=days)

        def work(session: Session) -> int:
            queued = session.execute(
                delete(Unanswered).where(Unanswered.created_at < cutoff)
            ).rowcount
            turns = session.execute(delete(Turn).where(Turn.created_at < cutoff)).rowcount
            return int(queued or 0) + int(turns or 0)

        return self._write("retention", work, 0)

    # -- reads (admin and tests; these raise on failure) ----------------------------------------

    def unanswered_queue(
        self, audience: str | None = None, status: str | None = "open", limit: int = 100
    ) -> list[dict[str, Any]]:
        """Queued questions, newest first; ``audience``/``status`` None means all."""
        query = (
            select(Unanswered)
            .order_by(Unanswered.created_at.desc(), Unanswered.id.desc())
            .limit(limit)
        )
        if audience is not None:
            query = query.where(Unanswered.audience == audience)
        if status is not None:
            query = query.where(Unanswered.status == status)
        with self._sessions() as session:
            return [_row(row) for row in session.scalars(query)]

    def turns_between(self, start: datetime, end: datetime, audience: str | None = None) -> list[dict[str, Any]]:
        """Turns with ``start <= created_at < end`` (aware datetimes), oldest first — for statistics."""
        start, end = _utc(start), _utc(end)  # stored as UTC (SQLite keeps no zone)
        query = select(Turn).where(Turn.created_at >= start, Turn.created_at < end).order_by(Turn.created_at, Turn.id)
        if audience is not None:
            query = query.where(Turn.audience == audience)
        with self._sessions() as session:
            return [_row(row) for row in session.scalars(query)]

    def unanswered_between(self, start: datetime, end: datetime, audience: str | None = None) -> list[dict[str, Any]]:
        start, end = _utc(start), _utc(end)
        query = select(Unanswered).where(Unanswered.created_at >= start, Unanswered.created_at < end)
        if audience is not None:
            query = query.where(Unanswered.audience == audience)
        with self._sessions() as session:
            return [_row(row) for row in session.scalars(query)]

    def turns(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest turns, newest first."""
        query = select(Turn).order_by(Turn.created_at.desc(), Turn.id.desc()).limit(limit)
        with self._sessions() as session:
            return [_row(row) for row in session.scalars(query)]
