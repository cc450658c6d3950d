"""Content-addressed cache of passage embeddings (SQLite), so rebuilds re-embed only new text."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np


def text_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x1f{text}".encode()).hexdigest()


class EmbeddingCache:
    """Maps (model id, passage text) to its vector. ``path=None`` keeps nothing."""

    def __init__(self, path: str | Path | None):
        self._db = None
        self.encoded = 0  # texts embedded (not found in the cache) by this instance
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path))
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")

    def encode(
        self,
        model_id: str,
        dim: int,
        texts: list[str],
        encode: Callable[[list[str]], np.ndarray],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached ones looked up); returns (matrix, number newly encoded)."""
        keys = [text_key(model_id, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        if self._db is not None and keys:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                rows = self._db.execute(
                    f"SELECT key, dim, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, row_dim, blob in rows:
                    if row_dim == dim:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        text_of = dict(zip(keys, texts, strict=True))
        for start in range(0, len(missing), batch_size):
            batch = missing[start:start + batch_size]
            vectors = encode([text_of[k] for k in batch])
            for key, vector in zip(batch, vectors, strict=True):
                found[key] = np.asarray(vector, dtype=np.float32)
            if self._db is not None:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(k, dim, found[k].tobytes()) for k in batch],
                )
                self._db.commit()
            if progress:
                progress(len(batch))
        matrix = np.stack([found[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
        self.encoded += len(missing)
        return matrix.astype(np.float32), len(missing)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
