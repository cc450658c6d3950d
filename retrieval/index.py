"""The on-disk FAQ index: build, persist with a manifest, load, search.

An index directory holds ``manifest.json`` (:class:`IndexManifest`: model id,
normaliser configuration, per-entry content hashes, fusion weights, tier
thresholds), ``entries.jsonl``, ``units.json`` (which text unit belongs to which
FAQ and field), ``vectors.faiss`` and ``tokens.json`` (BM25 input). Loading with
another encoder or normaliser configuration raises :class:`IndexMismatchError`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np

from retrieval.adapter import AnswerMap
from retrieval.bm25 import Bm25Index
from retrieval.dense import DenseStore
from retrieval.embedding_cache import EmbeddingCache
from retrieval.encoders import Encoder
from retrieval.faq import FaqEntry
from retrieval.fusion import (
    FusionWeights,
    TierThresholds,
    answer_tier,
    confidence_features,
    fuse,
    scale_bm25,
)
from retrieval.normalizer import Normalizer, NormalizerConfig, bigrams, kana_share

FORMAT_VERSION = 2
CHUNK_CHARS = 400
CANDIDATES = 64
KANA_QUERY = 0.8  # share of kana letters from which a query is also matched by reading


class IndexMismatchError(RuntimeError):
    """The index on disk was built with another model or normaliser configuration."""


@dataclass
class IndexManifest:
    audience: str
    model_id: str
    dim: int
    normalizer: dict
    normalizer_fingerprint: str
    entry_hashes: dict[str, str]
    fusion: dict = field(default_factory=lambda: FusionWeights().to_dict())
    tiers: dict = field(default_factory=lambda: TierThresholds().to_dict())
    built_at: str = ""
    build_seconds: float = 0.0
    question_encoding: str = "query"
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> IndexManifest:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class SearchHit:
    faq_id: str
    score: float
    question: str
    answer: str
    url: str
    department: str
    category: str
    signals: dict


class Signals(NamedTuple):
    """Per-candidate fusion inputs, aligned with ``candidates`` (entry positions)."""

    candidates: np.ndarray
    q: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    l: np.ndarray  # noqa: E741 - the learned query→answer signal (retrieval.adapter)


@dataclass(frozen=True)
class SearchResult:
    query: str
    tier: str
    hits: list[SearchHit]
    seconds: float


def _chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split long text at sentence ends into chunks of at most ``size`` characters."""
    text = text.strip()
    if len(text) <= size:
        return [text] if text else []
    pieces, current = [], ""
    for sentence in text.replace("\r\n", "\n").replace("。", "。\n").split("\n"):
        if current and len(current) + len(sentence) > size:
            pieces.append(current)
            current = ""
        current += sentence
        while len(current) > size:
            pieces.append(current[:size])
            current = current[size:]
    if current.strip():
        pieces.append(current)
    return pieces


def _units(entries: Sequence[FaqEntry]) -> tuple[list[int], list[str], list[str]]:
    """Text units to embed: each question / alt question ("q") and answer chunk ("a")."""
    owners, fields, texts = [], [], []
    for i, entry in enumerate(entries):
        for question in dict.fromkeys(q for q in (entry.question, *entry.alt_questions) if q.strip()):
            owners.append(i), fields.append("q"), texts.append(question)
        for chunk in _chunks(entry.answer):
            owners.append(i), fields.append("a"), texts.append(f"{entry.question}\n{chunk}".strip())
    return owners, fields, texts


class FaqIndex:
    """A loaded index: answers :meth:`search` with fused scores and a tier."""

    def __init__(self, manifest, entries, owners, fields, dense, bm25, reading, encoder, normalizer):
        self.manifest: IndexManifest = manifest
        self.entries: list[FaqEntry] = entries
        self._owners = np.asarray(owners, dtype=np.int64)
        self._is_question = np.asarray([f == "q" for f in fields])
        self._dense: DenseStore = dense
        self._bm25: Bm25Index = bm25
        self._reading: Bm25Index = reading
        self._encoder = encoder
        self._normalizer = normalizer
        self.weights = FusionWeights(**manifest.fusion)
        self.thresholds = TierThresholds.from_dict(manifest.tiers)
        self._by_id = {e.faq_id: e for e in entries}
        self._answer_map = AnswerMap(dense.vectors(np.arange(dense.size)), self._owners, self._is_question,
                                     len(entries)) if entries else None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def normalizer(self) -> Normalizer:
        """The normaliser this index was built with (also gives readings of a text)."""
        return self._normalizer

    def get(self, faq_id: str) -> FaqEntry | None:
        return self._by_id.get(faq_id)

    def search(self, query: str, k: int = 5, weights: FusionWeights | None = None) -> SearchResult:
        """Top ``k`` FAQ hits for ``query`` with a confidence tier (``weights`` overrides the manifest's)."""
        started = time.perf_counter()
        signals = self.signals(query)
        hits = self.rank(signals, weights or self.weights, max(k, 2))
        tier = self.tier(hits, query)
        hits = hits[:k]
        return SearchResult(query, tier, hits, time.perf_counter() - started)

    def signals(self, query: str) -> Signals:
        """Every fusion signal for the candidate FAQs of ``query`` (dense and lexical candidates)."""
        text = self._normalizer.text(query)
        if not text or not self.entries:
            empty = np.zeros(0, np.float32)
            return Signals(np.zeros(0, np.int64), empty, empty, empty, empty, empty)
        qvec = self._encoder.encode_queries([text])[0]
        tokens = self._normalizer.tokens(text)
        bm25 = self._bm25.scores(tokens)
        unit_ids, _ = self._dense.search(qvec, min(CANDIDATES * 4, self._dense.size))
        candidates = set(self._owners[unit_ids].tolist())
        candidates |= set(np.argsort(-bm25)[:CANDIDATES].tolist()) if bm25.any() else set()
        reading = None
        if kana_share(text) >= KANA_QUERY:
            grams = bigrams(self._normalizer.kana_reading(text))
            reading = self._reading.scores(grams)
            candidates |= set(np.argsort(-reading)[:CANDIDATES].tolist()) if reading.any() else set()
        cand = np.fromiter(sorted(candidates), dtype=np.int64)
        q, a = self._dense_signals(qvec, cand)
        b = scale_bm25(bm25)[cand]
        c = self._bm25.doc_coverage(tokens, cand)
        if reading is not None:
            b = np.maximum(b, scale_bm25(reading)[cand])
            c = np.maximum(c, self._reading.doc_coverage(grams, cand))
        return Signals(cand, q, a, b, c, self._answer_map.scores(qvec, cand))

    def tier(self, hits: list[SearchHit], query: str, thresholds: TierThresholds | None = None) -> str:
        """answer / suggest / unknown for ``hits`` (ranked, at least two when available) of ``query``."""
        if not hits:
            return "unknown"
        scores = [h.score for h in hits]
        top = hits[0].signals
        features = confidence_features(scores, top["q"], top["a"], top["coverage"], len(self._normalizer.text(query)))
        return answer_tier(scores, thresholds or self.thresholds, features)

    def rank(self, signals: Signals, weights: FusionWeights, k: int) -> list[SearchHit]:
        fused = fuse(signals, weights)
        order = np.argsort(-fused, kind="stable")[:k]
        hits = []
        for j in order:
            entry = self.entries[int(signals.candidates[j])]
            hits.append(SearchHit(
                faq_id=entry.faq_id, score=float(fused[j]), question=entry.question,
                answer=entry.answer, url=entry.url, department=entry.department,
                category=entry.category1,
                signals={"q": float(signals.q[j]), "a": float(signals.a[j]), "bm25": float(signals.b[j]),
                         "coverage": float(signals.c[j]), "learned": float(signals.l[j])},
            ))
        return hits

    def _dense_signals(self, qvec: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best question-unit and answer-unit cosine for each candidate FAQ."""
        mask = np.isin(self._owners, cand)
        unit_idx = np.nonzero(mask)[0]
        sims = self._dense.vectors(unit_idx) @ qvec
        pos = np.searchsorted(cand, self._owners[unit_idx])
        q = np.full(len(cand), -1.0, np.float32)
        a = np.full(len(cand), -1.0, np.float32)
        isq = self._is_question[unit_idx]
        np.maximum.at(q, pos[isq], sims[isq])
        np.maximum.at(a, pos[~isq], sims[~isq])
        # an entry without a question (a BEIR corpus with empty titles) or without an answer
        # is judged by the field it has
        a = np.where(a < -0.5, q, a)
        q = np.where(q < -0.5, a, q)
        return q, a


def build_index(
    entries: Sequence[FaqEntry],
    out_dir: str | Path,
    encoder: Encoder,
    normalizer: Normalizer,
    audience: str = "resident",
    cache: EmbeddingCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    fusion: FusionWeights | None = None,
    tiers: TierThresholds | None = None,
    question_encoding: str = "query",
) -> IndexManifest:
    """Embed and index ``entries`` into ``out_dir`` (written atomically via a temp dir)."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    owners, fields, texts = _units(entries)
    cache = cache or EmbeddingCache(None)
    done = 0

    def _tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(texts))

    normalized = [normalizer.text(t) for t in texts]
    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    # Questions are compared with questions (a symmetric task: e5's "query:" side when
    # question_encoding == "query"); answer chunks are passages.
    groups = {"q": (encoder.encode_queries, "#query") if question_encoding == "query" else (encoder.encode_passages, ""),
              "a": (encoder.encode_passages, "")}
    for field_name, (encode, suffix) in groups.items():
        rows = [i for i, f in enumerate(fields) if f == field_name]
        if rows:
            vectors[rows], _ = cache.encode(encoder.model_id + suffix, encoder.dim, [normalized[i] for i in rows],
                                            encode, progress=_tick)
    if progress and done == 0:
        progress(len(texts), len(texts))
    DenseStore.build(vectors).save(tmp / "vectors.faiss")
    tokens = [normalizer.tokens(" ".join((e.question, *e.alt_questions, e.answer))) for e in entries]
    (tmp / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")
    readings = [[g for q in (e.question, *e.alt_questions) for g in bigrams(normalizer.reading(q))] for e in entries]
    (tmp / "readings.json").write_text(json.dumps(readings, ensure_ascii=False), encoding="utf-8")
    (tmp / "units.json").write_text(json.dumps({"owners": owners, "fields": fields}), encoding="utf-8")
    with (tmp / "entries.jsonl").open("w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
    manifest = IndexManifest(
        audience=audience, model_id=encoder.model_id, dim=encoder.dim,
        normalizer=normalizer.config.to_dict(), normalizer_fingerprint=normalizer.config.fingerprint,
        entry_hashes={e.faq_id: e.content_hash for e in entries},
        fusion=(fusion or FusionWeights()).to_dict(), tiers=(tiers or TierThresholds()).to_dict(),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        question_encoding=question_encoding,
    )
    (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    old = out_dir.with_name(out_dir.name + ".old")
    if out_dir.exists():
        if old.exists():
            shutil.rmtree(old)
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)
    return manifest


def read_entries(index_dir: str | Path) -> list[FaqEntry]:
    """The entries an index was built from (``entries.jsonl``)."""
    return [FaqEntry.from_dict(json.loads(line)) for line in
            (Path(index_dir) / "entries.jsonl").read_text(encoding="utf-8").splitlines() if line]


def read_manifest(index_dir: str | Path) -> IndexManifest:
    return IndexManifest.from_json((Path(index_dir) / "manifest.json").read_text(encoding="utf-8"))


def load_index(index_dir: str | Path, encoder: Encoder, normalizer: Normalizer) -> FaqIndex:
    """Load an index; refuse one built with another encoder or normaliser configuration."""
    index_dir = Path(index_dir)
    if not (index_dir / "manifest.json").exists():
        raise FileNotFoundError(f"no index at {index_dir} (run: citybot index build)")
    manifest = read_manifest(index_dir)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(f"index format {manifest.format_version} != {FORMAT_VERSION}; rebuild it")
    if manifest.model_id != encoder.model_id or manifest.dim != encoder.dim:
        raise IndexMismatchError(
            f"index built with model {manifest.model_id} ({manifest.dim}d), "
            f"loaded with {encoder.model_id} ({encoder.dim}d); rebuild it"
        )
    stored = NormalizerConfig.from_dict(manifest.normalizer)
    if stored.fingerprint != normalizer.config.fingerprint:
        diff = {k: (v, normalizer.config.to_dict()[k]) for k, v in stored.to_dict().items()
                if normalizer.config.to_dict()[k] != v}
        raise IndexMismatchError(f"index built with another normaliser configuration {diff}; rebuild it")
    entries = read_entries(index_dir)
    units = json.loads((index_dir / "units.json").read_text(encoding="utf-8"))
    dense = DenseStore.load(index_dir / "vectors.faiss")
    bm25 = Bm25Index(json.loads((index_dir / "tokens.json").read_text(encoding="utf-8")))
    reading = Bm25Index(json.loads((index_dir / "readings.json").read_text(encoding="utf-8")))
    return FaqIndex(manifest, entries, units["owners"], units["fields"], dense, bm25, reading, encoder, normalizer)
