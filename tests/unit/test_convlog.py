"""The conversation log: masked storage, feedback per audience, the unanswered queue, retention,
and writes that fail quietly when the log database is unavailable."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from bot.convlog import ConversationLog, Turn, Unanswered

RAW_PHONE = "090-1234-5678"
RAW_MYNUMBER = "123456789012"
RAW_EMAIL = "yamada.taro@example.jp"
SECRET_MESSAGE = f"電話は{RAW_PHONE}、マイナンバーは{RAW_MYNUMBER}、メールは{RAW_EMAIL}です"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "logs" / "convlog.sqlite"


@pytest.fixture
def convlog(db_path):
    log = ConversationLog(f"sqlite:///{db_path}", salt="test-salt")
    yield log
    log.dispose()


def age(convlog: ConversationLog, days: int) -> None:
    """Move every row ``days`` into the past."""
    past = datetime.now(UTC) - timedelta(days=days)
    with convlog.engine.begin() as conn:
        conn.execute(update(Turn).values(created_at=past))
        conn.execute(update(Unanswered).values(created_at=past))


def test_creates_parent_directory_and_uses_wal(convlog, db_path):
    assert db_path.parent.is_dir()
    with convlog.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_turn_is_stored_masked(convlog, db_path):
    turn_id = convlog.record_turn(
        "raw-session-id-123",
        "resident",
        SECRET_MESSAGE,
        intent="faq",
        tier="answer",
        faq_id="R-1",
        score=0.82,
        latency_ms=140,
    )
    assert isinstance(turn_id, int)
    [row] = convlog.turns()
    assert row["id"] == turn_id
    assert (
        row["text"] == "電話は［電話番号］、マイナンバーは［マイナンバー］、メールは［メール］です"
    )
    assert row["masked"] == {"phone": 1, "mynumber": 1, "email": 1}
    assert (row["kind"], row["intent"], row["tier"], row["faq_id"]) == (
        "message",
        "faq",
        "answer",
        "R-1",
    )
    assert row["score"] == pytest.approx(0.82) and row["latency_ms"] == 140
    assert row["page_id"] is None and row["feedback"] is None
    assert row["created_at"].tzinfo is not None
    assert abs(datetime.now(UTC) - row["created_at"]) < timedelta(minutes=1)
    for value in row.values():
        for raw in (RAW_PHONE, RAW_MYNUMBER, RAW_EMAIL, "raw-session-id-123"):
            assert raw not in str(value)
    convlog.dispose()
    stored = b"".join(
        p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)
    )
    for raw in (RAW_PHONE, RAW_MYNUMBER, RAW_EMAIL, "raw-session-id-123"):
        assert raw.encode() not in stored
    assert "［電話番号］".encode() in stored


def test_session_hash_is_salted_stable_and_not_the_raw_id(convlog, db_path):
    convlog.record_turn("session-A", "resident", "こんにちは")
    convlog.record_turn("session-A", "resident", "住民票")
    convlog.record_turn("session-B", "resident", "ごみ")
    hashes = [row["session_hash"] for row in reversed(convlog.turns())]
    assert hashes[0] == hashes[1] != hashes[2]
    assert len(hashes[0]) == 16 and "session-A" not in hashes[0]
    other_salt = ConversationLog(f"sqlite:///{db_path.parent / 'other.sqlite'}", salt="another")
    assert other_salt.session_hash("session-A") != hashes[0]
    other_salt.dispose()


def test_choice_turns_and_enum_checks(convlog):
    convlog.record_turn("s", "resident", "住民票の写し", kind="choice", tier="suggest", page_id=42)
    [row] = convlog.turns()
    assert row["kind"] == "choice" and row["page_id"] == "42"
    with pytest.raises(ValueError):
        convlog.record_turn("s", "resident", "x", kind="other")
    with pytest.raises(ValueError):
        convlog.record_turn("s", "resident", "x", tier="great")
    with pytest.raises(ValueError):
        convlog.record_unanswered(None, "resident", "x", "bored")


def test_feedback_only_for_the_same_audience(convlog):
    turn_id = convlog.record_turn("s", "staff", "庁内の規程はどこですか", tier="answer")
    assert convlog.record_feedback(turn_id, "resident", helpful=True) is False
    assert convlog.turns()[0]["feedback"] is None
    assert convlog.record_feedback(turn_id, "staff", helpful=True) is True
    row = convlog.turns()[0]
    assert row["feedback"] == "helpful" and row["feedback_at"] is not None
    assert convlog.record_feedback(999_999, "staff", helpful=True) is False
    assert convlog.unanswered_queue() == []


def test_not_helpful_queues_the_masked_question_once(convlog):
    turn_id = convlog.record_turn("s", "resident", f"粗大ごみの出し方 {RAW_PHONE}", tier="answer")
    assert convlog.record_feedback(turn_id, "resident", helpful=False) is True
    assert convlog.record_feedback(turn_id, "resident", helpful=False) is True
    [item] = convlog.unanswered_queue()
    assert (
        item["turn_id"] == turn_id and item["reason"] == "not_helpful" and item["status"] == "open"
    )
    assert item["audience"] == "resident"
    assert item["text"] == "粗大ごみの出し方 ［電話番号］"
    assert convlog.turns()[0]["feedback"] == "not_helpful"


def test_unanswered_queue_filters_by_audience_and_status(convlog):
    first = convlog.record_unanswered(None, "resident", "犬の登録は？", "unknown")
    convlog.record_unanswered(None, "staff", "旅費の規程", "none_of_these")
    third = convlog.record_unanswered(
        None, "resident", f"私の名前は山田太郎です。{RAW_EMAIL}", "unknown"
    )
    assert [q["id"] for q in convlog.unanswered_queue("resident")] == [third, first]
    assert [q["text"] for q in convlog.unanswered_queue("staff")] == ["旅費の規程"]
    assert convlog.unanswered_queue("resident")[0]["text"] == "私の名前は［氏名］です。［メール］"
    assert convlog.set_unanswered_status(first, "done") is True
    assert [q["id"] for q in convlog.unanswered_queue("resident")] == [third]
    assert [q["id"] for q in convlog.unanswered_queue("resident", status="done")] == [first]
    assert len(convlog.unanswered_queue(status=None)) == 3
    assert len(convlog.unanswered_queue(limit=1)) == 1
    assert convlog.set_unanswered_status(12345, "done") is False


def test_retention_deletes_old_rows_only(convlog):
    old_turn = convlog.record_turn("s", "resident", "古い質問", tier="unknown")
    convlog.record_unanswered(old_turn, "resident", "古い質問", "unknown")
    age(convlog, 100)
    new_turn = convlog.record_turn("s", "resident", "新しい質問", tier="unknown")
    new_item = convlog.record_unanswered(new_turn, "resident", "新しい質問", "unknown")
    assert convlog.delete_older_than(90) == 2
    assert [t["id"] for t in convlog.turns()] == [new_turn]
    assert [q["id"] for q in convlog.unanswered_queue()] == [new_item]
    assert convlog.delete_older_than(90) == 0


def test_retention_keeps_new_queue_rows_of_old_turns(convlog):
    old_turn = convlog.record_turn("s", "resident", "古い質問", tier="answer")
    age(convlog, 100)
    convlog.record_feedback(old_turn, "resident", helpful=False)
    assert convlog.delete_older_than(90) == 1
    [item] = convlog.unanswered_queue()
    assert item["turn_id"] is None and item["text"] == "古い質問"


def test_unreachable_database_drops_writes_without_raising(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="bot.convlog")
    log = ConversationLog(f"sqlite:///{tmp_path}", salt="s")  # a directory: cannot be opened
    assert log.record_turn("s", "resident", SECRET_MESSAGE) is None
    assert log.record_unanswered(None, "resident", "x", "unknown") is None
    assert log.record_feedback(1, "resident", helpful=False) is False
    assert log.delete_older_than(30) == 0
    assert log.dropped_writes == 4
    assert "dropped write" in caplog.text
    for raw in (RAW_PHONE, RAW_MYNUMBER, RAW_EMAIL):
        assert raw not in caplog.text
    log.dispose()


def test_dropped_table_is_counted_then_recreated(convlog):
    convlog.record_turn("s", "resident", "一つ目")
    with convlog.engine.begin() as conn:
        conn.execute(text("DROP TABLE unanswered"))
        conn.execute(text("DROP TABLE turns"))
    assert convlog.record_turn("s", "resident", "二つ目") is None
    assert convlog.dropped_writes == 1
    assert isinstance(convlog.record_turn("s", "resident", "三つ目"), int)
    assert [t["text"] for t in convlog.turns()] == ["三つ目"]
    assert convlog.dropped_writes == 1


def test_in_memory_database_works():
    log = ConversationLog("sqlite://", salt="s")
    assert log.record_turn("s", "resident", "こんにちは") is not None
    assert len(log.turns()) == 1
    log.dispose()
