"""Staff accounts and the staff audit log (SQLAlchemy; SQLite by default).

Passwords are hashed with Argon2id (``argon2-cffi``) and never stored or logged in
clear. Roles: ``staff`` (the internal corpus) and ``admin`` (also the admin pages).
The audit log records who did what and when — logins, failed logins, expiries and
which FAQ ids a staff chat turn returned — never the text of a question.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, DateTime, Integer, String, create_engine, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

log = logging.getLogger(__name__)
ROLES = ("staff", "admin")
MIN_PASSWORD_CHARS = 12
_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
#: verified against when the user does not exist, so both cases take the same time
_DUMMY_HASH = _HASHER.hash("citybot-dummy-password")


class AccountError(ValueError):
    """A staff account cannot be created or changed (message in Japanese, for the CLI)."""


class Base(DeclarativeBase):
    pass


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: bumped at logout (and when disabled): signed session cookies issued before are void
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    __tablename__ = "staff_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))  # login, login_failed, logout, expired, chat, refused_ip
    faq_ids: Mapped[str] = mapped_column(String(500), default="")
    remote_addr: Mapped[str] = mapped_column(String(64), default="")


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection, _record) -> None:  # concurrent readers while the gateway writes
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
    return engine


def _now() -> datetime:
    return datetime.now(UTC)


class StaffStore:
    def __init__(self, url: str):
        self.engine = _engine(url)
        for attempt in range(5):  # several gateway workers may create the tables at the same moment
            try:
                Base.metadata.create_all(self.engine)
                break
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    # -- accounts ---------------------------------------------------------------------

    def add(self, username: str, password: str, role: str = "staff") -> None:
        username = username.strip()
        if not username or len(username) > 64 or not username.isprintable():
            raise AccountError("ユーザー名は1～64文字の表示可能な文字で指定してください。")
        if role not in ROLES:
            raise AccountError(f"役割は {' / '.join(ROLES)} のいずれかで指定してください。")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。")
        with self._sessions.begin() as session:
            if session.scalar(select(StaffUser).where(StaffUser.username == username)):
                raise AccountError(f"ユーザー「{username}」は既に登録されています。")
            session.add(StaffUser(username=username, password_hash=_HASHER.hash(password), role=role,
                                  disabled=False, created_at=_now(), session_epoch=0))

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        with self._sessions.begin() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None:
                raise AccountError(f"ユーザー「{username}」は登録されていません。")
            user.disabled = disabled
            user.session_epoch = (user.session_epoch or 0) + 1

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。")
        with self._sessions.begin() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None:
                raise AccountError(f"ユーザー「{username}」は登録されていません。")
            user.password_hash = _HASHER.hash(password)

    def users(self) -> list[dict]:
        with self._sessions() as session:
            return [{"username": u.username, "role": u.role, "disabled": u.disabled, "created_at": u.created_at,
                     "last_login_at": u.last_login_at}
                    for u in session.scalars(select(StaffUser).order_by(StaffUser.username))]

    def user(self, username: str) -> dict | None:
        """The active account (role, username, session epoch), or None if missing or disabled."""
        with self._sessions() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is None or user.disabled:
                return None
            return {"username": user.username, "role": user.role, "epoch": user.session_epoch or 0}

    def end_sessions(self, username: str) -> None:
        """Logout: every session cookie issued to this account so far stops working."""
        with self._sessions.begin() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if user is not None:
                user.session_epoch = (user.session_epoch or 0) + 1

    def verify(self, username: str, password: str) -> dict | None:
        """The account if the password is right and the account is active; constant work either way."""
        with self._sessions.begin() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            try:
                _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return None
            if user is None or user.disabled:
                return None
            if _HASHER.check_needs_rehash(user.password_hash):
                user.password_hash = _HASHER.hash(password)
            user.last_login_at = _now()
            return {"username": user.username, "role": user.role, "epoch": user.session_epoch or 0}

    # -- audit ------------------------------------------------------------------------

    def audit(self, username: str, action: str, faq_ids: list[str] | None = None, remote_addr: str = "") -> None:
        try:
            with self._sessions.begin() as session:
                session.add(AuditEntry(at=_now(), username=username[:64], action=action,
                                       faq_ids=",".join(faq_ids or [])[:500], remote_addr=remote_addr[:64]))
        except Exception:  # the audit must not take the chat down; the failure itself is logged
            log.exception("audit write failed (%s %s)", username, action)

    def audit_entries(self, limit: int = 200) -> list[dict]:
        with self._sessions() as session:
            rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
            return [{"at": r.at, "username": r.username, "action": r.action, "faq_ids": r.faq_ids,
                     "remote_addr": r.remote_addr} for r in rows]
