"""robots.txt (stdlib rules, our own fractional ``Crawl-delay``) and sitemap discovery/parsing."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

from lxml import etree

MAX_SITEMAP_URLS = 50_000


@dataclass
class Robots:
    """The rules of one host for our user agent. ``state``: ok | missing | unreachable."""

    parser: RobotFileParser | None
    crawl_delay: float | None = None
    sitemaps: list[str] = field(default_factory=list)
    state: str = "ok"

    def allows(self, url: str, user_agent: str) -> bool:
        if self.state == "missing":
            return True
        if self.state == "unreachable" or self.parser is None:
            return False  # RFC 9309: an unreachable robots.txt means "disallow everything"
        return self.parser.can_fetch(user_agent, url)

    @classmethod
    def missing(cls) -> Robots:
        """robots.txt answered 4xx: everything is allowed (RFC 9309 §2.3.1.3)."""
        return cls(None, state="missing")

    @classmethod
    def unreachable(cls) -> Robots:
        """robots.txt answered 5xx or not at all: nothing is allowed (RFC 9309 §2.3.1.4)."""
        return cls(None, state="unreachable")


def product_token(user_agent: str) -> str:
    return user_agent.split("/")[0].strip().lower()


def parse_robots(text: str, user_agent: str) -> Robots:
    lines = text.splitlines()
    parser = RobotFileParser()
    parser.parse(lines)
    return Robots(parser, _crawl_delay(lines, product_token(user_agent)), _sitemaps(lines))


def _directives(lines: list[str]):
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if ":" in line:
            key, value = line.split(":", 1)
            yield key.strip().lower(), value.strip()


def _crawl_delay(lines: list[str], token: str) -> float | None:
    """Crawl-delay of the group naming our product token, else of the ``*`` group (fractions ok)."""
    delays: dict[str, float] = {}
    agents: list[str] = []
    in_rules = False
    for key, value in _directives(lines):
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agents.append(value.lower())
        elif key in ("allow", "disallow", "crawl-delay"):
            in_rules = True
            if key == "crawl-delay":
                try:
                    delay = float(value)
                except ValueError:
                    continue
                if delay >= 0:
                    for agent in agents:
                        delays.setdefault(agent, delay)
    for agent, delay in delays.items():
        if agent != "*" and agent in token:
            return delay
    return delays.get("*")


def _sitemaps(lines: list[str]) -> list[str]:
    return [value for key, value in _directives(lines) if key == "sitemap" and value]


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) of a sitemap or sitemap index (gzip accepted)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                              recover=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    pages: list[str] = []
    children: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != "loc":
            continue
        parent = element.getparent()
        where = etree.QName(parent).localname if parent is not None else ""
        url = (element.text or "").strip()
        if url:
            (children if where == "sitemap" else pages).append(url)
        if len(pages) + len(children) >= MAX_SITEMAP_URLS:
            break
    return pages, children
