"""Usage statistics and the annual report from a conversation log with known turns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bot.convlog import ConversationLog, Turn, Unanswered
from bot.stats import TOKYO, fiscal_months, fiscal_year_range, to_csv, usage
from retrieval.faq import parse_faq_csv
from tests.conftest import TINY_FAQ

ENTRIES = parse_faq_csv(TINY_FAQ)


def tokyo(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def stored(text: str) -> datetime:
    """As the log stores times: UTC."""
    return tokyo(text).astimezone(UTC)


@pytest.fixture
def log(tmp_path):
    log = ConversationLog(f"sqlite:///{tmp_path / 'log.sqlite'}", salt="s")
    rows = [  # (when, session, tier, faq_id, feedback)
        ("2026-04-01T09:00", "a", "answer", "R-1", "helpful"),
        ("2026-04-01T20:00", "a", "answer", "R-1", "not_helpful"),   # after hours
        ("2026-05-05T10:00", "b", "suggest", None, None),           # こどもの日 (holiday)
        ("2026-05-07T10:00", "b", "answer", "R-2", "helpful"),
        ("2026-06-01T10:00", "c", "unknown", None, None),
        ("2026-06-01T10:01", "c", "scripted", None, None),          # small talk: not a question
        ("2027-03-31T23:59", "d", "page", None, None),              # last minute of the fiscal year
        ("2027-04-01T00:00", "e", "answer", "R-1", None),           # next fiscal year
        ("2026-03-31T23:59", "f", "answer", "R-1", None),           # previous fiscal year
    ]
    with log._sessions.begin() as session:
        for when, sid, tier, faq_id, feedback in rows:
            session.add(Turn(created_at=stored(when), session_hash=sid, audience="resident", text="q", masked={},
                             kind="message", tier=tier, faq_id=faq_id, latency_ms=80, feedback=feedback))
        session.add(Unanswered(created_at=stored("2026-06-01T10:00"), audience="resident", text="ｑｗｅｒｔｙ",
                               reason="unknown", status="open"))
    return log


def test_fiscal_year_is_april_to_march_in_tokyo():
    start, end = fiscal_year_range(2026)
    assert (start.isoformat(), end.isoformat()) == ("2026-04-01T00:00:00+09:00", "2027-04-01T00:00:00+09:00")
    assert fiscal_months(2026)[0] == "2026-04" and fiscal_months(2026)[-1] == "2027-03"


def test_usage_counts_questions_rates_helpfulness_and_categories(log):
    start, end = fiscal_year_range(2026)
    result = usage(log.turns_between(start, end, "resident"), log.unanswered_between(start, end), ENTRIES, start, end)
    assert result.questions == 6 and result.conversations == 4
    assert (result.answered, result.suggested, result.unknown) == (4, 1, 1)  # page counts as answered
    assert result.helpfulness == pytest.approx(2 / 3)
    assert result.by_month["2026-04"] == 2 and result.by_month["2027-03"] == 1
    assert result.by_category["くらし"] == 3 and result.by_category["ホームページ"] == 1
    assert result.top_questions[0] == ("R-1", "粗大ごみはどうやって出せばいいですか。", 2)
    assert result.top_unanswered == [("ｑｗｅｒｔｙ", 1)]
    csv_text = to_csv(result, fiscal_months(2026))
    assert csv_text.startswith("\ufeff月,質問数") and "2026-04,2" in csv_text and "回答できた割合,66.7%" in csv_text


def test_report_command_writes_html_and_csv(log, tmp_path, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("CITYBOT_LOG_DB", log.url)
    monkeypatch.setenv("CITYBOT_INDEX_ROOT", str(tmp_path / "no-index"))
    out = tmp_path / "reports"
    result = CliRunner().invoke(main, ["report", "--fiscal-year", "2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "usage-resident-FY2026.html").read_text(encoding="utf-8")
    assert "AIチャットボット利用状況（令和8年度）" in page and "<svg" in page and 'role="img"' in page
    assert "閉庁時間" in page and "の質問：3件" in page  # 20:00 on a weekday, こどもの日, 23:59 on 3/31
    assert (out / "usage-resident-FY2026.csv").read_text(encoding="utf-8").startswith("\ufeff月,質問数")
