"""Time `make run` until the bot is ready, then stop it with Ctrl-C (SIGINT) and check it stops.

    .venv/bin/python bench/make_run.py --cold   # fresh clone of this repo into a temp dir
    .venv/bin/python bench/make_run.py DIR      # warm: an existing checkout with venvs

Prints seconds to "ready", seconds to stop, and whether any component was left running.
Uses the default loopback ports (5005, 5055, 8000): stop a running demo first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(checkout: Path, timeout: float = 1500) -> dict:
    started = time.monotonic()
    process = subprocess.Popen(["make", "run"], cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    ready_after, lines = None, []
    for line in process.stdout:
        lines.append(line.rstrip())
        if "ready in" in line:
            ready_after = time.monotonic() - started
            break
        if time.monotonic() - started > timeout:
            break
    stop_started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    rest, _ = process.communicate(timeout=60)
    stopped_after = time.monotonic() - stop_started
    leftover = subprocess.run(["pgrep", "-f", f"{checkout}/.venv"], capture_output=True, text=True).stdout.split()
    return {
        "ready_s": round(ready_after, 1) if ready_after else None,
        "stop_s": round(stopped_after, 1),
        "clean_stop": "all components stopped." in rest and not leftover,
        "components": [line for line in lines if "healthy after" in line],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout", nargs="?", type=Path)
    parser.add_argument("--cold", action="store_true", help="fresh clone into a temporary directory")
    args = parser.parse_args()
    if args.cold:
        checkout = Path(tempfile.mkdtemp(prefix="citybot-cold-")) / "citybot"
        subprocess.run(["git", "clone", "-q", str(REPO), str(checkout)], check=True)
    else:
        checkout = (args.checkout or REPO).resolve()
    result = {"mode": "cold" if args.cold else "warm", "checkout": str(checkout)} | run(checkout)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
