"""The real stack for integration and browser tests: Rasa + action server + gateway on loopback.

Built the same way ``make run`` builds it (bot.launcher), on free ports so a running
demo is not disturbed; indexes and the Rasa model are reused when up to date.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import requests

from bot.crawling import ensure_sample_crawl
from bot.indexing import build_audience, build_pages
from bot.launcher import Ports, Stack, build_stack
from bot.nlu_data import generate
from bot.settings import load_settings
from bot.training import train


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: a Tuesday morning in Tokyo: the offices are open (office-hours answers are deterministic)
LIVE_CLOCK = "2026-11-24T10:00"


@dataclass
class LiveStack:
    stack: Stack
    ports: Ports
    settings: dict
    log_db: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def session(self) -> requests.Session:
        return requests.Session()

    def chat(self, session: requests.Session, message: str | None = None, choice: str | None = None) -> list[dict]:
        body = {"choice": choice} if choice is not None else {"message": message}
        response = session.post(f"{self.url}/api/chat", json=body, timeout=30)
        response.raise_for_status()
        return response.json()["messages"]


def start_live_stack(log_dir: Path) -> LiveStack:
    settings = load_settings({"CLOCK": LIVE_CLOCK})
    ensure_sample_crawl(settings)
    for audience in ("resident", "staff"):
        build_audience(settings, audience)
        build_pages(settings, audience)
    generate(settings)
    model, _ = train(settings)
    ports = Ports(rasa=free_port(), actions=free_port(), gateway=free_port())
    log_db = log_dir / "conversations.sqlite"
    # every test request comes from 127.0.0.1: the limits are tested on their own (tests/unit/test_security.py)
    extra_env = {"CITYBOT_LOG_DB": f"sqlite:///{log_db}", "CITYBOT_STAFF_DB": f"sqlite:///{log_dir / 'staff.sqlite'}",
                 "CITYBOT_RATE_LIMIT_IP": "100000 per minute", "CITYBOT_RATE_LIMIT_SESSION": "10000 per minute",
                 "CITYBOT_LOGIN_RATE_LIMIT": "10000 per minute"}
    stack = build_stack(settings, model, ports, log_dir=log_dir, extra_env=extra_env)
    stack.start(timeout=300)
    return LiveStack(stack, ports, settings, log_db)
