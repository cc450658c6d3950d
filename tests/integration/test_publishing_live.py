"""Publishing against the running stack: a new version goes live under load with zero
failed requests and no mixed answers, a rollback restores the exact previous answers,
and an import process killed at random moments never leaves a broken live version."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from bot import publishing
from bot.publishing import canonical_csv, live_entries, publish, rollback
from bot.settings import REPO_ROOT
from retrieval.encoders import load_encoder
from retrieval.normalizer import Normalizer
from retrieval.registry import IndexRegistry
from retrieval.versions import VersionStore

pytestmark = pytest.mark.integration

QUESTION = "住民票の写しはコンビニで取れますか"
LOAD_SECONDS_MAX = 120


def _faq_with_changed(settings, faq_id: str, **fields) -> tuple[bytes, dict, dict]:
    """The live FAQ with one entry changed; (CSV bytes, old entry, new entry) as dicts."""
    entries = live_entries(settings, "resident")
    target = next(e for e in entries if e.faq_id == faq_id)
    changed = target.__class__(**(target.to_dict() | fields | {"alt_questions": tuple(target.alt_questions)}))
    new = [changed if e.faq_id == faq_id else e for e in entries]
    return canonical_csv(new).encode("utf-8"), target.to_dict(), changed.to_dict()


def _local(url: str) -> str:
    return url.removeprefix("https://www.city.example.jp")


def test_publish_under_load_then_rollback(live_stack, monkeypatch):
    settings = live_stack.settings
    session = requests.Session()
    (first,) = live_stack.chat(session, QUESTION)
    assert first["tier"] == "answer"
    faq_id = first["faq_id"]
    # a new link (not embedded: the ranking is the same in both versions, only the version differs)
    old = live_entries(settings, "resident")
    url = next(e.url for e in old if e.faq_id == faq_id)
    raw, before, after = _faq_with_changed(settings, faq_id, url=url + "?v=2")
    old_reply, new_reply = (before["answer"], _local(before["url"])), (after["answer"], _local(after["url"]))
    monkeypatch.setattr(publishing, "labelled_queries", lambda audience: None)  # the check is tested in unit tests

    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def resident(n: int) -> None:
        own = requests.Session()
        while not stop.is_set():
            try:
                response = own.post(f"{live_stack.url}/api/chat", json={"message": QUESTION}, timeout=30)
                message = response.json()["messages"][0] if response.ok else {"text": response.text}
                results.append((response.status_code, (message["text"], (message.get("link") or {}).get("url"))))
            except requests.RequestException as exc:
                results.append((0, str(exc)))
            time.sleep(0.05)

    workers = [threading.Thread(target=resident, args=(n,), daemon=True) for n in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    encoder = load_encoder(settings["ENCODER"])
    result = publish(settings, "resident", raw, "faq-updated.csv", encoder=encoder)
    assert result.version and result.diff.changed == [faq_id] and result.embedded == 0
    deadline = time.monotonic() + LOAD_SECONDS_MAX
    while time.monotonic() < deadline and not any(reply == new_reply for _, reply in results[-4:]):
        time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join(timeout=35)

    assert len(results) >= 20
    failed = [r for r in results if r[0] != 200]
    assert not failed, failed[:3]
    assert {reply for _, reply in results} <= {old_reply, new_reply}  # one version or the other, never a mix
    assert results[-1][1] == new_reply

    previous = rollback(settings, "resident")
    assert VersionStore(settings["INDEX_ROOT"], "resident").current() == previous
    (after,) = live_stack.chat(requests.Session(), QUESTION)
    assert (after["text"], after["link"]["url"]) == old_reply and after["faq_id"] == faq_id  # exactly as before


def test_import_killed_at_random_moments_leaves_a_complete_live_version(live_stack, tmp_path):
    settings = dict(live_stack.settings)
    index_root = tmp_path / "index"
    env = {"CITYBOT_INDEX_ROOT": str(index_root), "CITYBOT_EMBEDDING_CACHE": settings["EMBEDDING_CACHE"],
           "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    settings["INDEX_ROOT"] = str(index_root)
    base = tmp_path / "base.csv"
    base.write_bytes(canonical_csv(live_entries(live_stack.settings, "resident")).encode("utf-8"))
    command = [sys.executable, "-m", "bot.cli", "faq", "import", "--audience", "resident", "--force"]
    subprocess.run(command + [str(base)], cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=300)
    versions = VersionStore(index_root, "resident")
    good = versions.current()
    registry = IndexRegistry(index_root, encoder=load_encoder(settings["ENCODER"]), normalizer=Normalizer())
    sizes = {len(registry.get("resident"))}
    rng = random.Random(7)
    for attempt in range(4):
        target = live_entries(settings, "resident")[attempt]
        raw, _, _ = _faq_with_changed(settings, target.faq_id, answer=target.answer + f"（試験{attempt}：{rng.random()}）")
        changed = tmp_path / f"changed{attempt}.csv"
        changed.write_bytes(raw)
        process = subprocess.Popen(command + [str(changed)], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 6.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        live = versions.current()
        assert live is not None and (live == good or live in {v.version for v in versions.versions()})
        index = registry.get("resident")  # complete and loadable, whichever version it is
        sizes.add(len(index))
        assert index.search(QUESTION).hits
        good = live
    assert sizes == {len(live_entries(settings, "resident"))}


def test_nlu_model_is_swapped_in_the_running_rasa_and_a_bad_one_is_refused(live_stack, tmp_path):
    """`citybot nlu retrain` loads a model over Rasa's HTTP API; a broken model leaves the old one serving."""
    from bot.training import TrainingError, current_model, load_into_rasa

    rasa_url = f"http://127.0.0.1:{live_stack.ports.rasa}"
    model = current_model(live_stack.settings) or current_model(__import__("bot.settings").settings.load_settings())
    assert model is not None
    load_into_rasa(rasa_url, model)
    (reply,) = live_stack.chat(requests.Session(), "こんにちは")
    assert "習志野市" in reply["text"]
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a model")
    with pytest.raises(TrainingError):
        load_into_rasa(rasa_url, broken)
    (reply,) = live_stack.chat(requests.Session(), "こんにちは")
    assert "習志野市" in reply["text"]  # still the previous model
