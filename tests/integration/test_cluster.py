"""The multi-replica topology on loopback (bot/cluster.py): nginx → gunicorn gateway → two Rasa
replicas (PostgreSQL tracker store, Redis lock store) → two action servers. A conversation with
a form in progress continues while requests alternate between the replicas and one replica is
restarted."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import requests

from bot.cluster import PG_BIN, ClusterPorts, start_cluster
from retrieval.garbage import GarbageGuide, describe_days

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

missing = [name for name in ("redis-server", "nginx") if not shutil.which(name) and not Path(f"/usr/sbin/{name}").exists()]
if missing or not (PG_BIN / "initdb").exists():
    pytest.skip(f"cluster packages missing ({', '.join(missing) or 'postgresql'}): "
                "apt-get install -y postgresql redis-server nginx (.ci/run does)", allow_module_level=True)

GARBAGE = GarbageGuide.load(Path(__file__).resolve().parents[2] / "data/faq/garbage")


@pytest.fixture(scope="module")
def cluster(live_stack, tmp_path_factory):
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), ClusterPorts.free(), settings=live_stack.settings,
                            extra_env={"CITYBOT_RATE_LIMIT_IP": "100000 per minute",
                                       "CITYBOT_RATE_LIMIT_SESSION": "10000 per minute"})
    yield cluster
    cluster.stop()


def chat(cluster, session: requests.Session, message: str) -> dict:
    response = session.post(f"{cluster.url}/api/chat", json={"message": message}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    (reply,) = response.json()["messages"]
    return reply


def test_requests_alternate_between_the_rasa_replicas(cluster):
    session = requests.Session()
    for message in ("こんにちは", "粗大ごみはどうやって出せばいいですか", "スプレー缶は何ごみ？", "ありがとう"):
        chat(cluster, session, message)
    assert len(cluster.rasa_replicas_used()) == 2  # round robin across both replicas


def test_form_in_progress_continues_across_replicas_and_a_restart(cluster):
    session = requests.Session()
    assert "地区" in chat(cluster, session, "燃えるごみは何曜日？")["text"]
    # the next turns go to either replica; one of them is restarted meanwhile
    errors: list[str] = []
    stop = threading.Event()

    def others() -> None:  # other residents keep the replicas busy, every request must succeed
        other = requests.Session()
        while not stop.is_set():
            try:
                chat(cluster, other, "住民票の写しはコンビニで取れますか")
            except AssertionError as exc:
                errors.append(str(exc))
            time.sleep(0.2)

    worker = threading.Thread(target=others, daemon=True)
    worker.start()
    cluster.stack.kill("rasa 1")
    answer = chat(cluster, session, "谷津です")  # nginx skips the dead replica; the state is in PostgreSQL
    days = describe_days(GARBAGE.district("谷津").days["可燃ごみ"])
    assert answer["text"].startswith(f"谷津の可燃ごみの収集日は、{days}です。"), answer
    cluster.stack.restart("rasa 1")
    again = chat(cluster, session, "不燃ごみは？")  # the district is remembered, whichever replica answers
    assert again["text"].startswith("谷津の不燃ごみの収集日は"), again
    stop.set()
    worker.join(timeout=70)
    assert not errors, errors[:3]
