"""Measure the running stack: training time, start-up, model size, RSS, chat latency.

    .venv/bin/python bench/stack.py [--train] [--turns 60]

Starts the real stack on free loopback ports (as the integration tests do), sends a
bounded number of chat turns through the gateway, prints one JSON object. With
``--train`` it also times a forced ``rasa train``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.indexing import build_audience  # noqa: E402
from bot.launcher import Ports, build_stack  # noqa: E402
from bot.nlu_data import generate  # noqa: E402
from bot.settings import load_settings, resolve  # noqa: E402
from bot.training import train  # noqa: E402
from tests.live import free_port  # noqa: E402

QUERIES = ["こんにちは", "粗大ごみはどうやって出せばいいですか", "明日の天気は？", "マイナカードの暗証番号を忘れた",
           "図書館は何時まで", "引っ越してきました", "児童手当の申請", "ありがとう"]


def rss_mb(pid: int) -> float:
    """Resident set size of a process and its children, in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", action="store_true", help="also time a forced rasa train")
    parser.add_argument("--turns", type=int, default=64)
    args = parser.parse_args()
    settings = load_settings()
    out: dict = {"machine": f"{platform.node()} {platform.machine()} {Path('/proc/cpuinfo').read_text().count('processor')} cores",
                 "python": platform.python_version()}
    for audience in ("resident", "staff"):
        build_audience(settings, audience)
    generate(settings)
    if args.train:
        started = time.monotonic()
        model, _ = train(settings, force=True)
        out["rasa_train_s"] = round(time.monotonic() - started, 1)
    model, _ = train(settings)
    out["rasa_model_mb"] = round(model.stat().st_size / 1e6, 1)
    index_root = resolve(settings["INDEX_ROOT"])
    out["index_mb"] = {a: round(sum(f.stat().st_size for f in (index_root / a).iterdir()) / 1e6, 2)
                       for a in ("resident", "staff")}
    ports = Ports(free_port(), free_port(), free_port())
    stack = build_stack(settings, model, ports, log_dir=resolve("var/log/bench"))
    started = time.monotonic()
    try:
        stack.start()
        out["stack_start_s"] = round(time.monotonic() - started, 1)
        out["healthy_after_s"] = {c.name: round(c.healthy_after, 1) for c in stack.components}
        session = requests.Session()
        url = f"http://127.0.0.1:{ports.gateway}/api/chat"
        session.post(url, json={"message": "こんにちは"}, timeout=30)  # warm-up
        latencies = []
        for i in range(args.turns):
            t = time.perf_counter()
            response = session.post(url, json={"message": QUERIES[i % len(QUERIES)]}, timeout=30)
            response.raise_for_status()
            latencies.append((time.perf_counter() - t) * 1000)
        out["chat_turn_ms"] = {"n": len(latencies), "p50": round(statistics.median(latencies), 1),
                               "p95": round(percentile(latencies, 0.95), 1)}
        out["rss_mb"] = {c.name: rss_mb(c.process.pid) for c in stack.components}
    finally:
        stack.stop()
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
