"""Shared fixtures: the Flask app with a fake Rasa, a tiny FAQ, and a fake encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeEncoder, FakeRasa

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
KOSODATE_CSV = SHARED / "datasets" / "kosodate-faq" / "faq.csv"

TINY_FAQ = """faq_id,question,answer,url,category1,category2,department,updated_at,alt_questions
R-1,粗大ごみはどうやって出せばいいですか。,粗大ごみは事前申込制です。クリーンセンターに電話で申し込んでください。,https://www.city.example.jp/kurashi/gomi/sodaigomi.html,くらし,ごみ,クリーンセンター,2026-04-01,大きいごみを捨てたい|粗大ゴミの出し方
R-2,住民票の写しはどこで取れますか。,市役所の市民課窓口とコンビニで取得できます。,https://www.city.example.jp/kurashi/koseki/juminhyo.html,くらし,戸籍,市民課,2026-04-01,住民票がほしい
R-3,図書館の開館時間を教えてください。,中央図書館は午前9時30分から午後7時まで開館しています。,https://www.city.example.jp/shisetsu/toshokan.html,施設,図書館,中央図書館,2026-04-01,図書館は何時まで
"""


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory):
    """Real Rasa + action server + gateway on free loopback ports (started once per run)."""
    from tests.live import start_live_stack

    live = start_live_stack(tmp_path_factory.mktemp("stack-logs"))
    yield live
    live.stack.stop()


@pytest.fixture
def fake_encoder():
    return FakeEncoder()


@pytest.fixture
def tiny_csv(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text(TINY_FAQ, encoding="utf-8")
    return path


@pytest.fixture
def fake_rasa():
    return FakeRasa()


@pytest.fixture
def app(fake_rasa, tmp_path):
    from bot import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "test", "RASA_CLIENT": fake_rasa,
                       "INDEX_ROOT": str(tmp_path / "index"), "ACTION_SERVER_URL": "http://127.0.0.1:9",
                       "LOG_DB": f"sqlite:///{tmp_path / 'log.sqlite'}",
                       "STAFF_DB": f"sqlite:///{tmp_path / 'staff.sqlite'}"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
