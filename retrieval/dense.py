"""Dense vector store: exact inner-product search with FAISS, persisted to one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover - depends on install
    faiss = None


def _faiss():
    if faiss is None:
        raise ImportError("pip install faiss-cpu")
    return faiss


class DenseStore:
    """L2-normalised vectors in a FAISS ``IndexFlatIP`` (cosine similarity)."""

    def __init__(self, index):
        self._index = index
        self._matrix = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseStore:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = _faiss().IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: str | Path) -> DenseStore:
        return cls(_faiss().read_index(str(path)))

    def save(self, path: str | Path) -> None:
        _faiss().write_index(self._index, str(path))

    @property
    def size(self) -> int:
        return self._index.ntotal

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` unit ids and scores for one query vector."""
        if self.size == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, ids = self._index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        return self._matrix[ids]
