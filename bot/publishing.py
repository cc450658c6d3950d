"""Publishing an audience's FAQ: check → diff → build a new version → regression check →
atomic switch → prune; versions and rollback. Used by ``citybot faq …`` and ``/admin``.

Nothing here changes the live version until the very last step (``VersionStore.switch``);
a bad file, a failed build, a quality drop or a killed process leaves the last good
version serving. The running action server picks up the switch at its next request.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.settings import resolve
from retrieval.datasets import EvalSet, load_query_jsonl
from retrieval.embedding_cache import EmbeddingCache
from retrieval.encoders import Encoder, load_encoder
from retrieval.evaluation import ranking_metrics
from retrieval.faq import COLUMNS, FaqEntry, load_faq_csv
from retrieval.faq_check import CheckReport, check_faq_bytes
from retrieval.index import build_index, load_index, read_entries
from retrieval.normalizer import Normalizer
from retrieval.versions import SOURCE_FILE, VersionInfo, VersionStore, new_version_id

#: a publish is refused when MRR@10 on the audience's labelled queries drops by more than this
MAX_MRR_DROP = 0.02
KEEP_VERSIONS = 5


class PublishError(RuntimeError):
    """Publishing stopped; the live version is unchanged. The message is Japanese, for maintainers."""


@dataclass
class FaqDiff:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return f"追加 {len(self.added)}件、変更 {len(self.changed)}件、削除 {len(self.removed)}件、変更なし {self.unchanged}件"

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass
class PublishResult:
    report: CheckReport
    diff: FaqDiff
    version: str | None = None  # None: dry run, or nothing to publish
    quality: dict = field(default_factory=dict)
    seconds: float = 0.0
    embedded: int = 0  # texts embedded now (the rest came from the content-hash cache)


def diff_entries(old: list[FaqEntry], new: list[FaqEntry]) -> FaqDiff:
    before = {e.faq_id: e for e in old}
    after = {e.faq_id: e for e in new}
    diff = FaqDiff()
    for faq_id, entry in after.items():
        if faq_id not in before:
            diff.added.append(faq_id)
        elif before[faq_id] != entry:
            diff.changed.append(faq_id)
        else:
            diff.unchanged += 1
    diff.removed = [faq_id for faq_id in before if faq_id not in after]
    return diff


def store(settings: dict, audience: str) -> VersionStore:
    return VersionStore(resolve(settings["INDEX_ROOT"]), audience, keep=KEEP_VERSIONS)


def live_entries(settings: dict, audience: str) -> list[FaqEntry]:
    """The entries of the live version ([] when nothing is published)."""
    versions = store(settings, audience)
    version = versions.current()
    if version is None:
        return []
    source = versions.path(version) / SOURCE_FILE
    if source.exists():
        return load_faq_csv(source)
    return read_entries(versions.path(version))


def canonical_csv(entries: list[FaqEntry]) -> str:
    """The version's own copy of its FAQ, in our layout (UTF-8, what a rollback restores)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [c for c in COLUMNS if c != "service_name"] + ["service_name"]
    writer.writerow(columns)
    for e in entries:
        row = e.to_dict() | {"alt_questions": "|".join(e.alt_questions)}
        writer.writerow([row[c] for c in columns])
    return out.getvalue()


def labelled_queries(audience: str) -> EvalSet | None:
    """The audience's labelled dev + test queries (data/eval), for the regression check."""
    paths = [resolve(f"data/eval/{audience}.{split}.jsonl") for split in ("dev", "test")]
    sets = [load_query_jsonl(p) for p in paths if p.exists()]
    if not sets:
        return None
    merged = EvalSet({}, {}, set())
    for index, eval_set in enumerate(sets):
        for qid, text in eval_set.queries.items():
            merged.queries[f"{index}:{qid}"] = text
            if qid in eval_set.qrels:
                merged.qrels[f"{index}:{qid}"] = eval_set.qrels[qid]
    return merged


def regression_check(old_dir: Path | None, new_dir: Path, audience: str, encoder: Encoder,
                     normalizer: Normalizer) -> dict:
    """MRR@10 of the live and the new version on the labelled queries whose answers exist in both."""
    labelled = labelled_queries(audience)
    if labelled is None or old_dir is None:
        return {}
    new_index = load_index(new_dir, encoder, normalizer)
    old_index = load_index(old_dir, encoder, normalizer)
    both = {e.faq_id for e in new_index.entries} & {e.faq_id for e in old_index.entries}
    judged = {q: rel for q, rel in labelled.qrels.items() if rel and set(rel) <= both}
    if not judged:  # the labelled queries are about other FAQs: nothing to compare on
        return {}
    figures = {}
    for name, index in (("live", old_index), ("new", new_index)):
        rankings = {q: [h.faq_id for h in index.search(labelled.queries[q], k=10).hits] for q in judged}
        figures[name] = round(ranking_metrics(rankings, judged)["mrr@10"], 4)
    figures["queries"] = len(judged)
    figures["drop"] = round(figures["live"] - figures["new"], 4)
    return figures


def publish(settings: dict, audience: str, raw: bytes, source: str, *, dry_run: bool = False, force: bool = False,
            encoder: Encoder | None = None, progress: Callable[[str, int, int], None] | None = None) -> PublishResult:
    """Check ``raw`` (a CSV file's bytes) and, unless ``dry_run``, publish it as ``audience``'s new live FAQ."""
    started = time.monotonic()
    step = progress or (lambda *_: None)
    step("検査", 0, 1)
    report = check_faq_bytes(raw, source)
    if not report.ok:
        raise PublishError(f"{source}: ファイルに問題があるため公開しませんでした（{report.summary()}）。")
    step("検査", 1, 1)
    result = publish_entries(settings, audience, report.entries, source, hashlib.sha256(raw).hexdigest(),
                             dry_run=dry_run, force=force, encoder=encoder, progress=progress)
    result.report = report
    result.seconds = time.monotonic() - started
    return result


def publish_entries(settings: dict, audience: str, entries: list[FaqEntry], source: str, source_sha256: str = "", *,
                    dry_run: bool = False, force: bool = False, origin: str = "import", check_quality: bool = True,
                    encoder: Encoder | None = None,
                    progress: Callable[[str, int, int], None] | None = None) -> PublishResult:
    """Build ``entries`` as a new version and make it live (see the module docstring for the guarantees)."""
    started = time.monotonic()
    step = progress or (lambda *_: None)
    versions = store(settings, audience)
    versions.migrate_legacy()
    diff = diff_entries(live_entries(settings, audience), entries)
    result = PublishResult(CheckReport(source, None, None, entries, [], []), diff)
    if dry_run or (diff.empty and versions.current()):
        result.seconds = time.monotonic() - started
        return result
    encoder = encoder or load_encoder(settings["ENCODER"])
    normalizer = Normalizer()
    version = new_version_id()
    staging = versions.staging(version)
    cache = EmbeddingCache(resolve(settings["EMBEDDING_CACHE"]))
    try:  # only new or changed texts are embedded: the cache is keyed by content
        build_index(entries, staging, encoder, normalizer, audience=audience, cache=cache,
                    progress=lambda done, total: step("埋め込み", done, total))
        result.embedded = cache.encoded
        (staging / SOURCE_FILE).write_text(canonical_csv(entries), encoding="utf-8")
    except OSError as exc:  # disk full, permissions …: nothing was switched
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staging.with_name(staging.name + ".tmp"), ignore_errors=True)
        raise PublishError(f"新しい版を書き込めなかったため公開しませんでした（{exc.strerror or exc}）。"
                           "公開中の版はそのまま使われています。") from exc
    finally:
        cache.close()
    live_dir = versions.path(versions.current()) if versions.current() else None
    if check_quality:
        step("品質確認", 0, 1)
        result.quality = regression_check(live_dir, staging, audience, encoder, normalizer)
        step("品質確認", 1, 1)
    if result.quality and result.quality["drop"] > MAX_MRR_DROP and not force:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(
            f"品質が下がるため公開しませんでした（評価用の質問 {result.quality['queries']}件の MRR@10: "
            f"現在 {result.quality['live']:.3f} → 新しい版 {result.quality['new']:.3f}）。"
            "内容を確認のうえ、それでも公開する場合は --force を付けてください。")
    info = VersionInfo(version=version, audience=audience, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                       source=source, source_sha256=source_sha256, entries=len(entries), added=diff.added,
                       changed=diff.changed, removed=diff.removed, quality=result.quality, origin=origin)
    step("公開", 0, 1)
    versions.commit(staging, info)
    versions.switch(version)
    versions.prune()
    step("公開", 1, 1)
    result.version = version
    result.seconds = time.monotonic() - started
    return result


def rollback(settings: dict, audience: str, version: str | None = None) -> str:
    """Make ``version`` (default: the one before the live one) live again; returns it."""
    versions = store(settings, audience)
    ids = [v.version for v in versions.versions()]
    current = versions.current()
    if version is None:
        if current not in ids or ids.index(current) == 0:
            raise PublishError(f"{audience}: 戻せる前の版がありません。")
        version = ids[ids.index(current) - 1]
    versions.switch(version)
    return version
