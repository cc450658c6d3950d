"""Publishing FAQ versions: diff, incremental embedding, atomic switch, hot reload in a
running registry, regression check, rollback, pruning, and crashes at every step."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bot import publishing
from bot.publishing import PublishError, publish, rollback
from retrieval.datasets import EvalSet
from retrieval.normalizer import Normalizer
from retrieval.registry import IndexRegistry
from retrieval.versions import VersionStore
from tests.conftest import TINY_FAQ

CHANGED = TINY_FAQ.replace("市役所の市民課窓口とコンビニで取得できます。", "市民課窓口、連絡所、コンビニで取得できます。")
ADDED = CHANGED + "R-4,犬の登録はどこでしますか。,環境保全課で登録してください。,https://www.city.example.jp/kurashi/pet.html,くらし,ペット,環境保全課,2026-04-01,\n"


@pytest.fixture
def settings(tmp_path):
    return {"INDEX_ROOT": str(tmp_path / "index"), "EMBEDDING_CACHE": str(tmp_path / "cache.sqlite"),
            "ENCODER": "unused"}


@pytest.fixture
def run(settings, fake_encoder):
    def _publish(text: str, **kwargs):
        return publish(settings, "resident", text.encode("utf-8"), "faq.csv", encoder=fake_encoder, **kwargs)
    return _publish


def tree_digest(path) -> str:
    """A digest of every file under ``path`` (following the live symlink)."""
    digest = hashlib.sha256()
    for root, _dirs, files in sorted(os.walk(os.path.realpath(path))):
        for name in sorted(files):
            file = os.path.join(root, name)
            digest.update(file.encode())
            digest.update(open(file, "rb").read())
    return digest.hexdigest()


def test_first_publish_then_a_change_is_a_new_version(run, settings, fake_encoder):
    first = run(TINY_FAQ)
    assert first.version and first.diff.added == ["R-1", "R-2", "R-3"]
    second = run(ADDED)
    assert second.diff.changed == ["R-2"] and second.diff.added == ["R-4"] and not second.diff.removed
    # only the changed answer chunk and the new entry's texts were embedded; the rest came from the cache
    assert 0 < second.embedded <= 4
    versions = VersionStore(settings["INDEX_ROOT"], "resident")
    assert versions.current() == second.version
    assert [v.version for v in versions.versions()] == [first.version, second.version]
    assert run(ADDED).version is None  # identical content: nothing to publish


def test_running_registry_picks_up_the_switch_and_rollback(run, settings, fake_encoder):
    run(TINY_FAQ)
    registry = IndexRegistry(settings["INDEX_ROOT"], encoder=fake_encoder, normalizer=Normalizer())
    old_answer = registry.get("resident").get("R-2").answer
    run(ADDED)
    assert registry.get("resident").get("R-4") is not None  # hot reload, same registry object
    assert registry.get("resident").get("R-2").answer != old_answer
    rollback(settings, "resident")
    assert registry.get("resident").get("R-4") is None
    assert registry.get("resident").get("R-2").answer == old_answer  # the exact previous answers


def test_bad_file_changes_nothing(run, settings):
    run(TINY_FAQ)
    live = os.path.join(settings["INDEX_ROOT"], "resident")
    before = tree_digest(live)
    broken = TINY_FAQ.replace("R-3,", "R-1,")  # duplicate id
    with pytest.raises(PublishError, match="ファイルに問題がある"):
        run(broken)
    assert tree_digest(live) == before
    assert len(VersionStore(settings["INDEX_ROOT"], "resident").versions()) == 1


def test_dry_run_reports_the_diff_and_changes_nothing(run, settings):
    run(TINY_FAQ)
    live = os.path.join(settings["INDEX_ROOT"], "resident")
    before = tree_digest(live)
    result = run(ADDED, dry_run=True)
    assert result.version is None and result.diff.added == ["R-4"]
    assert tree_digest(live) == before


def test_quality_drop_is_refused_unless_forced(run, settings, monkeypatch):
    run(TINY_FAQ)
    labelled = EvalSet({"q1": "粗大ごみを出したい", "q2": "住民票はどこで取れる", "q3": "図書館は何時まで"},
                       {"q1": {"R-1": 1}, "q2": {"R-2": 1}, "q3": {"R-3": 1}})
    monkeypatch.setattr(publishing, "labelled_queries", lambda audience: labelled)
    # the answers shuffled between ids: search now points residents at the wrong FAQ
    shuffled = TINY_FAQ.replace("R-1,", "R-X,").replace("R-3,", "R-1,").replace("R-X,", "R-3,")
    with pytest.raises(PublishError, match="品質が下がる"):
        run(shuffled)
    assert len(VersionStore(settings["INDEX_ROOT"], "resident").versions()) == 1
    forced = run(shuffled, force=True)
    assert forced.version and forced.quality["drop"] > publishing.MAX_MRR_DROP


@pytest.mark.parametrize("crash_at", ["build", "commit", "switch"])
def test_a_crash_at_any_step_leaves_a_complete_live_version(run, settings, fake_encoder, monkeypatch, crash_at):
    run(TINY_FAQ)
    live = os.path.join(settings["INDEX_ROOT"], "resident")
    before = tree_digest(live)

    def boom(*_args, **_kwargs):
        raise KeyboardInterrupt("killed")  # like a SIGINT in the middle of the step

    target = {"build": (publishing, "build_index"), "commit": (VersionStore, "commit"),
              "switch": (os, "replace")}[crash_at]
    if crash_at == "switch":
        real_replace = os.replace

        def replace(src, dst):  # the staging rename succeeds; the symlink swap is "killed"
            if str(dst).endswith("/resident"):
                raise KeyboardInterrupt("killed")
            return real_replace(src, dst)
        monkeypatch.setattr(os, "replace", replace)
    else:
        monkeypatch.setattr(*target, boom)
    with pytest.raises(KeyboardInterrupt):
        run(ADDED)
    monkeypatch.undo()
    assert tree_digest(live) == before
    registry = IndexRegistry(settings["INDEX_ROOT"], encoder=fake_encoder, normalizer=Normalizer())
    assert registry.get("resident").get("R-4") is None and len(registry.get("resident")) == 3
    # the next publish cleans up and succeeds
    assert run(ADDED).version
    versions_dir = os.path.join(settings["INDEX_ROOT"], "_versions", "resident")
    assert not [n for n in os.listdir(versions_dir) if n.startswith(".staging-")]


def test_old_versions_are_pruned_but_the_live_one_is_kept(run, settings):
    versions = VersionStore(settings["INDEX_ROOT"], "resident")
    published = []
    for i in range(publishing.KEEP_VERSIONS + 2):
        published.append(run(TINY_FAQ.replace("午後7時", f"午後{i + 1}時")).version)
    kept = [v.version for v in versions.versions()]
    assert kept == published[-publishing.KEEP_VERSIONS:]
    assert versions.current() == published[-1]


def test_rollback_to_a_named_version_and_errors(run, settings):
    first = run(TINY_FAQ).version
    with pytest.raises(PublishError, match="戻せる前の版がありません"):
        rollback(settings, "resident")
    run(ADDED)
    assert rollback(settings, "resident", first) == first
    from retrieval.versions import VersionError

    with pytest.raises(VersionError):
        rollback(settings, "resident", "../../etc")


def test_a_legacy_index_directory_becomes_the_first_version(settings, fake_encoder, tmp_path):
    from retrieval.faq import parse_faq_csv
    from retrieval.index import build_index

    live = tmp_path / "index" / "resident"
    build_index(parse_faq_csv(TINY_FAQ), live, fake_encoder, Normalizer())
    versions = VersionStore(settings["INDEX_ROOT"], "resident")
    versions.migrate_legacy()
    assert live.is_symlink() and versions.current() and versions.info().entries == 3
    registry = IndexRegistry(settings["INDEX_ROOT"], encoder=fake_encoder, normalizer=Normalizer())
    assert len(registry.get("resident")) == 3


BAD_FILES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "bad_csv").glob("*.csv"))


def test_there_are_enough_malformed_fixtures():
    assert len(BAD_FILES) >= 20


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda p: p.stem)
def test_every_malformed_file_is_refused_and_the_live_index_stays_byte_identical(run, settings, fake_encoder, bad):
    run(TINY_FAQ)
    live = os.path.join(settings["INDEX_ROOT"], "resident")
    before = tree_digest(live)
    with pytest.raises(PublishError, match="ファイルに問題がある"):
        publish(settings, "resident", bad.read_bytes(), bad.name, encoder=fake_encoder)
    assert tree_digest(live) == before
    assert len(VersionStore(settings["INDEX_ROOT"], "resident").versions()) == 1


def test_disk_full_while_building_keeps_the_old_version_serving(run, settings, fake_encoder, monkeypatch):
    import errno

    run(TINY_FAQ)
    live = os.path.join(settings["INDEX_ROOT"], "resident")
    before = tree_digest(live)
    real_write = Path.write_text

    def full(self, *args, **kwargs):
        if ".staging-" in str(self):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(PublishError, match="書き込めなかった"):
        run(ADDED)
    monkeypatch.undo()
    assert tree_digest(live) == before
    registry = IndexRegistry(settings["INDEX_ROOT"], encoder=fake_encoder, normalizer=Normalizer())
    assert len(registry.get("resident")) == 3
    versions_dir = os.path.join(settings["INDEX_ROOT"], "_versions", "resident")
    assert not [n for n in os.listdir(versions_dir) if n.startswith(".staging-")]
