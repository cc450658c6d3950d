"""Soak: a steady, moderate load for a fixed time with the stack's memory sampled.

    .venv/bin/python bench/soak.py --minutes 30 --rate 2

Starts its own stack in a temp dir (loopback only), sends `rate` chat turns per second
from a rotating set of sessions and messages for `minutes`, samples the RSS of Rasa,
the action server and the gateway every 30 s, and reports the growth between the
first sample after warm-up (minute 2) and the last, with the error count. Bounded in
time and count; stops the stack at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import SCRIPT, rss_mb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2.0, help="chat turns per second")
    args = parser.parse_args()
    from tests.live import start_live_stack

    live = start_live_stack(Path(tempfile.mkdtemp(prefix="citybot-soak-")))
    samples: list[dict] = []
    counts = {"requests": 0, "errors": 0}
    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(30):
            samples.append({"t_min": round((time.monotonic() - started) / 60, 1)}
                           | {c.name: rss_mb(c.process.pid) for c in live.stack.components})

    started = time.monotonic()
    threading.Thread(target=sampler, daemon=True).start()
    sessions = [requests.Session() for _ in range(20)]
    try:
        n = 0
        while time.monotonic() - started < args.minutes * 60:
            session = sessions[n % len(sessions)]
            if n % (len(SCRIPT) * len(sessions)) == 0:
                sessions[:] = [requests.Session() for _ in range(20)]  # new residents keep arriving
            try:
                response = session.post(f"{live.url}/api/chat", json={"message": SCRIPT[n % len(SCRIPT)]}, timeout=60)
                counts["errors"] += response.status_code != 200
            except requests.RequestException:
                counts["errors"] += 1
            counts["requests"] += 1
            n += 1
            time.sleep(max(0.0, started + n / args.rate - time.monotonic()))
    finally:
        stop.set()
        live.stack.stop()
    warm = next((s for s in samples if s["t_min"] >= 2), samples[0] if samples else {})
    last = samples[-1] if samples else {}
    growth = {k: last[k] - warm[k] for k in last if k != "t_min" and k in warm}
    print(json.dumps({"minutes": args.minutes, "rate": args.rate} | counts
                     | {"rss_after_warmup_mb": warm, "rss_end_mb": last, "growth_mb": growth, "samples": samples},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
