"""The real stack for integration and browser tests: Rasa + action server + gateway on loopback.

Built the same way ``make run`` builds it (bot.launcher), on free ports so a running
demo is not disturbed; indexes and the Rasa model are reused when up to date.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import requests

from bot.cluster import free_port
from bot.crawling import ensure_sample_crawl
from bot.indexing import build_audience, build_pages
from bot.launcher import Ports, Stack, build_stack
from bot.nlu_data import generate
from bot.settings import REPO_ROOT, load_settings
from bot.training import train

#: a Tuesday morning in Tokyo: the offices are open (office-hours answers are deterministic)
LIVE_CLOCK = "2026-11-24T10:00"


@dataclass
class LiveStack:
    stack: Stack
    ports: Ports
    settings: dict
    log_db: Path
    staff_db: Path

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


FIXTURES = Path(__file__).resolve().parent / "fixtures"
XSS_PAGE = "/test/xss.html"


def _test_data(work: Path) -> dict[str, str]:
    """The stack's own copies, so tests never touch the demo's var/: the resident FAQ plus
    one hostile FAQ row, and the sample homepage plus one hostile page (both in tests/fixtures)."""
    faq = work / "faq-resident"
    faq.mkdir(parents=True)
    for csv_file in sorted((REPO_ROOT / "data/faq/resident").glob("*.csv")):
        shutil.copy(csv_file, faq / csv_file.name)
    shutil.copy(FIXTURES / "xss_faq.csv", faq / "zz_xss_test.csv")
    site = work / "site"
    shutil.copytree(REPO_ROOT / "sample_site", site)
    (site / XSS_PAGE.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "xss_page.html", site / XSS_PAGE.lstrip("/"))
    sitemap = site / "sitemap.xml"
    sitemap.write_text(sitemap.read_text(encoding="utf-8").replace(
        "</urlset>", f"  <url><loc>__ORIGIN__{XSS_PAGE}</loc></url>\n</urlset>"), encoding="utf-8")
    return {"FAQ_RESIDENT": str(faq), "SAMPLE_SITE_DIR": str(site), "PAGES_DIR": str(work / "pages"),
            "INDEX_ROOT": str(work / "index"), "TRACKER_DB": str(work / "trackers.sqlite")}


def start_live_stack(log_dir: Path) -> LiveStack:
    data = _test_data(log_dir / "data")
    settings = load_settings({"CLOCK": LIVE_CLOCK} | data)
    ensure_sample_crawl(settings)
    for audience in ("resident", "staff"):
        build_audience(settings, audience)
        build_pages(settings, audience)
    training = load_settings()  # the NLU is trained from the real FAQ only (no retraining for test rows)
    generate(training)
    model, _ = train(training)
    ports = Ports(rasa=free_port(), actions=free_port(), gateway=free_port())
    log_db = log_dir / "conversations.sqlite"
    # every test request comes from 127.0.0.1: the limits are tested on their own (tests/unit/test_security.py)
    extra_env = {f"CITYBOT_{name}": value for name, value in data.items()} | {
                 "CITYBOT_LOG_DB": f"sqlite:///{log_db}", "CITYBOT_STAFF_DB": f"sqlite:///{log_dir / 'staff.sqlite'}",
                 "CITYBOT_RATE_LIMIT_IP": "100000 per minute", "CITYBOT_RATE_LIMIT_SESSION": "10000 per minute",
                 "CITYBOT_LOGIN_RATE_LIMIT": "10000 per minute"}
    stack = build_stack(settings, model, ports, log_dir=log_dir, extra_env=extra_env)
    stack.start(timeout=300)
    return LiveStack(stack, ports, settings, log_db, log_dir / "staff.sqlite")
