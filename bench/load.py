"""Load on the whole stack (gateway → Rasa → action server → index), on loopback, bounded.

    .venv/bin/python bench/load.py                 # starts its own stack in a temp dir
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000   # against a running one
    .venv/bin/python bench/load.py --cluster       # the multi-replica topology on the same machine

At 1, 8 and 32 concurrent sessions, each session sends a fixed script of resident
messages (questions, a garbage-day form, small talk) with a think time between them.
Reports p50/p95/p99 latency, throughput and errors per level, and the RSS of the
stack's processes afterwards. Prints one JSON object per level.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SCRIPT = ["こんにちは", "粗大ごみはどうやって出せばいいですか", "燃えるごみは何曜日？", "谷津です",
          "スプレー缶は何ごみ？", "児童手当の申請をしたい", "必要なものは？", "住民票の写しはコンビニで取れますか",
          "図書館は何時まで開いていますか", "ありがとう"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def run_level(url: str, sessions: int, think: float, seed: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    rng = random.Random(seed)
    thinks = [[rng.uniform(0.5, 1.5) * think for _ in SCRIPT] for _ in range(sessions)]

    def session(n: int) -> None:
        http = requests.Session()
        for message, pause in zip(SCRIPT, thinks[n], strict=True):
            started = time.perf_counter()
            try:
                response = http.post(f"{url}/api/chat", json={"message": message}, timeout=60)
                ok = response.status_code == 200 and response.json().get("messages")
                error = None if ok else f"{response.status_code} {response.text[:80]}"
            except requests.RequestException as exc:
                error = type(exc).__name__
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                if error:
                    errors.append(error)
            time.sleep(pause)

    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"sessions": sessions, "requests": len(latencies), "errors": len(errors), "error_examples": errors[:3],
            "p50_ms": round(statistics.median(latencies)), "p95_ms": round(percentile(latencies, 95)),
            "p99_ms": round(percentile(latencies, 99)), "throughput_rps": round(len(latencies) / elapsed, 1),
            "seconds": round(elapsed, 1)}


def rss_mb(pid: int) -> float:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return round(total / 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running gateway (default: start a stack in a temp dir)")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between messages, seconds")
    parser.add_argument("--cluster", action="store_true",
                        help="the multi-replica topology (bot/cluster.py: nginx, gunicorn ×2, 2 Rasa, 2 action servers)")
    args = parser.parse_args()
    live = cluster = None
    url = args.url
    if url is None:
        from tests.live import start_live_stack

        live = start_live_stack(Path(tempfile.mkdtemp(prefix="citybot-load-")))
        url = live.url
        if args.cluster:  # the same data, served by the cluster instead of the single stack
            from bot.cluster import ClusterPorts, start_cluster

            live.stack.stop()
            cluster = start_cluster(Path(tempfile.mkdtemp(prefix="citybot-load-cluster-")), ClusterPorts.free(),
                                    settings=live.settings,
                                    extra_env={"CITYBOT_RATE_LIMIT_IP": "100000 per minute",
                                               "CITYBOT_RATE_LIMIT_SESSION": "10000 per minute"})
            live, url = None, cluster.url
    machine = f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    try:
        for level in (int(x) for x in args.levels.split(",")):
            result = run_level(url, level, args.think, seed=level)
            stack = live.stack if live is not None else cluster.stack if cluster is not None else None
            if stack is not None:
                result["rss_mb"] = {c.name: rss_mb(c.process.pid) for c in stack.components}
            result["topology"] = "cluster" if cluster is not None else "single"
            print(json.dumps(result | {"machine": machine}, ensure_ascii=False), flush=True)
    finally:
        if live is not None:
            live.stack.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
