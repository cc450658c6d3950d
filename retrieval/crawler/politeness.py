"""Per-host politeness: one request at a time per host, ``delay`` seconds from the end of
one request to the start of the next (so the server sees them at least that far apart)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Cancelled(Exception):
    """The crawl is stopping; a request that had not started yet was abandoned."""


class HostGate:
    def __init__(self, default_delay: float):
        self.default_delay = default_delay
        self.stopping = threading.Event()
        self._delays: dict[str, float] = {}
        self._last_end: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def set_delay(self, host: str, delay: float) -> None:
        with self._guard:
            self._delays[host] = delay

    def delay(self, host: str) -> float:
        return self._delays.get(host, self.default_delay)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold ``host``'s single request slot, waiting out its delay first."""
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        while not lock.acquire(timeout=0.1):
            if self.stopping.is_set():
                raise Cancelled(host)
        try:
            last_end = self._last_end.get(host)
            wait = 0.0 if last_end is None else last_end + self.delay(host) - time.monotonic()
            if wait > 0 and self.stopping.wait(wait):
                raise Cancelled(host)
            if self.stopping.is_set():
                raise Cancelled(host)
            try:
                yield
            finally:
                self._last_end[host] = time.monotonic()
        finally:
            lock.release()
