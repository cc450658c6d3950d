"""``citybot eval``: run labelled queries through the production retrieval pipeline.

The corpus is indexed exactly as in production (same normaliser, encoder, fusion),
into a cache directory keyed by the corpus content, so a second run only loads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from bot.settings import resolve
from retrieval.datasets import EvalSet, write_trec
from retrieval.embedding_cache import EmbeddingCache
from retrieval.encoders import Encoder
from retrieval.evaluation import latency_summary, ranking_metrics, tier_metrics
from retrieval.faq import FaqEntry
from retrieval.fusion import FusionWeights, TierThresholds
from retrieval.index import FORMAT_VERSION, FaqIndex, build_index, load_index
from retrieval.normalizer import Normalizer, NormalizerConfig
from retrieval.pages import first_hit_per_page


def corpus_key(entries: list[FaqEntry], encoder: Encoder, normalizer: Normalizer, question_encoding: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{FORMAT_VERSION}|{encoder.model_id}|{normalizer.config.fingerprint}|{question_encoding}".encode())
    digest.update(repr((FusionWeights().to_dict(), TierThresholds().to_dict())).encode())
    for entry in entries:
        digest.update(f"{entry.faq_id}\x1f{entry.content_hash}\n".encode())
    return digest.hexdigest()[:20]


def cached_index(entries: list[FaqEntry], settings: dict, encoder: Encoder, normalizer: Normalizer | None = None,
                 progress: Callable[[int, int], None] | None = None, question_encoding: str = "query") -> FaqIndex:
    normalizer = normalizer or Normalizer()
    key = corpus_key(entries, encoder, normalizer, question_encoding)
    out = resolve(settings["EMBEDDING_CACHE"]).parent / "eval" / key
    if not (out / "manifest.json").exists():
        cache = EmbeddingCache(resolve(settings["EMBEDDING_CACHE"]))
        try:
            build_index(entries, out, encoder, normalizer, audience="eval", cache=cache, progress=progress,
                        question_encoding=question_encoding)
        finally:
            cache.close()
    return load_index(out, encoder, normalizer)


def run_eval(index: FaqIndex, eval_set: EvalSet, top_k: int = 10, trec_out: Path | None = None,
             weights: FusionWeights | None = None, by_url: bool = False) -> dict:
    """Search every query; ``by_url`` judges pages: hits collapse to their URL, best first."""
    runs, tiers, top_ids, seconds = {}, {}, {}, []
    for qid, text in eval_set.queries.items():
        result = index.search(text, k=top_k * (5 if by_url else 1), weights=weights)
        tier = result.tier
        if by_url:  # judged per page: the best passage of each page, tier against other pages
            pages = first_hit_per_page(result.hits)[:top_k]
            hits = [(h.url, h.score) for h in pages]
            tier = index.tier(pages, text) if pages else "unknown"
        else:
            hits = [(h.faq_id, h.score) for h in result.hits]
        runs[qid] = hits
        tiers[qid] = tier
        top_ids[qid] = hits[0][0] if hits else None
        seconds.append(result.seconds)
    if trec_out:
        write_trec(trec_out, runs)
    rankings = {q: [doc for doc, _ in hits] for q, hits in runs.items()}
    return {
        "corpus": len(index),
        "metrics": ranking_metrics(rankings, eval_set.qrels),
        "tiers": tier_metrics(tiers, top_ids, eval_set.qrels, eval_set.out_of_scope),
        "latency": latency_summary(seconds),
        "model_id": index.manifest.model_id,
        "normalizer": index.manifest.normalizer_fingerprint,
    }


ABLATIONS: dict[str, dict] = {
    "BM25 only": {"weights": FusionWeights(question=0.0, answer=0.0, bm25=1.0)},
    "dense only (question + answer)": {"weights": FusionWeights(question=0.7, answer=0.3, bm25=0.0)},
    "hybrid without the learned query→answer map": {
        "weights": FusionWeights(question=0.55, answer=0.35, bm25=0.05, coverage=0.05, learned=0.0)},
    "hybrid, questions as passages": {"question_encoding": "passage"},
    "hybrid, no synonym table": {"synonyms": False},
    "hybrid + synonyms (production)": {},
}


def ablation(entries: list[FaqEntry], eval_set: EvalSet, settings: dict, encoder: Encoder,
             by_url: bool = False) -> dict[str, dict]:
    """The production pipeline with one part changed at a time (same queries, same corpus)."""
    out = {}
    for name, change in ABLATIONS.items():
        normalizer = Normalizer(NormalizerConfig(synonyms=change.get("synonyms", True)))
        index = cached_index(entries, settings, encoder, normalizer,
                             question_encoding=change.get("question_encoding", "query"))
        out[name] = run_eval(index, eval_set, weights=change.get("weights"), by_url=by_url)
    return out
