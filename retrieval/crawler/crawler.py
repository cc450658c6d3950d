"""The crawl loop.

Seeds are the start URL and the URLs of the site's sitemaps. Only URLs under the
allowed prefixes that robots.txt allows are requested, one request at a time per host
with ``max(config.delay, Crawl-delay)`` seconds between them; a small thread pool
overlaps extraction with the next request. Unchanged pages (304, or the same bytes)
are not extracted again; at the end, pages that are gone are removed and every link
gets a status, which makes the dead-link report.

The store is written only from the calling thread. If the crawl stops early (an
exception, Ctrl-C, or the progress callback raising) the frontier stays in the store
and the next crawl with the same configuration resumes it.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from retrieval.crawler import fetch
from retrieval.crawler.config import USER_AGENT, CrawlConfig, CrawlError
from retrieval.crawler.decode import decode_html
from retrieval.crawler.extract import (
    EXTRACTOR_VERSION,
    Extracted,
    ExtractError,
    extract_html,
    extract_pdf,
    passage_id,
)
from retrieval.crawler.fetch import Fetcher, FetchResult
from retrieval.crawler.politeness import Cancelled, HostGate
from retrieval.crawler.report import CrawlProgress, CrawlReport, ProgressCallback
from retrieval.crawler.robots import Robots, parse_robots, parse_sitemap
from retrieval.crawler.store import FrontierRow, PageRecord, PageStore, now_iso
from retrieval.crawler.urls import has_skipped_extension, host_key, normalize_url

MAX_SITEMAP_FILES = 20
ROBOTS_REDIRECTS = 5


@dataclass
class WorkResult:
    row: FrontierRow
    fetched: FetchResult | None = None
    outcome: str = ""
    content_hash: str = ""
    encoding: str = ""
    extracted: Extracted | None = None
    error: str = ""
    cancelled: bool = False


def crawl(config: CrawlConfig, store: PageStore, progress: ProgressCallback | None = None) -> CrawlReport:
    """Crawl ``config.start_url`` into ``store``; see the module docstring."""
    return Crawler(config, store, progress).run()


class Crawler:
    def __init__(self, config: CrawlConfig, store: PageStore, progress: ProgressCallback | None = None):
        self.config = config
        self.store = store
        self.progress = progress
        self.fetcher = Fetcher(USER_AGENT, config.timeout, config.retries, config.backoff, config.max_bytes)
        self.gate = HostGate(config.delay)
        self.robots: dict[str, Robots] = {}
        self.skipped_robots: set[str] = set()
        self.report = CrawlReport()
        self.started = 0.0
        self.done = 0

    # --- the run -------------------------------------------------------------------

    def run(self) -> CrawlReport:
        self.started = time.monotonic()
        try:
            start_fetch = self.config.to_fetch(self.config.start_url)
            robots = self.robots_for(start_fetch)
            if robots.state == "unreachable":
                raise CrawlError(f"robots.txt of {host_key(start_fetch)} could not be read (server error or "
                                 "no connection); nothing was crawled")
            if not robots.allows(start_fetch, USER_AGENT):
                raise CrawlError(f"robots.txt of {host_key(start_fetch)} disallows the start URL {start_fetch}")
            self.report.resumed = self.store.begin_crawl(self.config.fingerprint(), self.config.resume)
            self.done = self.store.counts().get("done", 0)
            self.seed()
            self.loop()
            counts = self.store.counts()
            exhausted = not counts.get("queued") and not counts.get("in_progress")
            self.finish(exhausted)
        finally:
            self.gate.stopping.set()
            self.fetcher.close()
        return self.report

    def seed(self) -> None:
        start = self.config.to_public(self.config.start_url)
        self.discover(start, "seed")
        self.store.add_links("(start)", [start], "seed")
        if self.config.use_sitemaps:
            self.read_sitemaps()

    def loop(self) -> None:
        limit = self.config.max_pages
        inflight: dict[Future, FrontierRow] = {}
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="citybot-crawl")
        try:
            while True:
                room = min(self.config.concurrency - len(inflight), limit - self.done - len(inflight))
                if room > 0:
                    for row in self.store.claim(room):
                        inflight[pool.submit(self.work, row, *self.hints(row.url))] = row
                if not inflight:
                    break
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in finished:
                    row = inflight.pop(future)
                    outcome = self.handle(future.result())
                    self.notify(row.url, outcome)
        except BaseException:
            self.gate.stopping.set()  # requests not yet started are abandoned (and re-queued)
            for future in list(inflight):
                try:
                    self.handle(future.result())
                except Exception:
                    self.store.requeue(inflight[future].url)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def notify(self, url: str, outcome: str) -> None:
        if self.progress is None:
            return
        counts = self.store.counts()
        elapsed = time.monotonic() - self.started
        known = min(self.config.max_pages, sum(counts.values()))
        self.progress(CrawlProgress(url=url, outcome=outcome, fetched=self.report.fetched, done=self.done,
                                    known=known, max_pages=self.config.max_pages, elapsed=elapsed,
                                    pages_per_s=self.report.fetched / elapsed if elapsed > 0 else 0.0))

    def finish(self, exhausted: bool) -> None:
        frontier = self.store.frontier()
        transient = sum(1 for r in frontier.values() if r.outcome == "error"
                        or (r.outcome == "http_error" and (r.status or 0) >= 500))
        resolver = LinkResolver(self, frontier)
        # unreached pages are removed only when the whole site was walked without transient failures
        self.report.removed = self.store.finish_crawl(exhausted and transient == 0, resolver.resolve)
        self.report.complete = exhausted
        self.report.dead_links = len(self.store.dead_links())
        self.report.skipped_robots = len(self.skipped_robots)
        self.report.passages = len(self.store.passages())
        self.report.seconds = round(time.monotonic() - self.started, 3)
        self.report.pages_per_s = round(self.report.fetched / self.report.seconds, 2) if self.report.seconds else 0.0

    # --- discovery ----------------------------------------------------------------------

    def classify(self, url: str) -> str:
        """Why a (public) URL is not crawled — external | skipped | robots — or "crawlable"."""
        fetch_url = self.config.to_fetch(url)
        if not self.config.allowed(fetch_url):
            return "external"
        if has_skipped_extension(fetch_url):
            return "skipped"
        if not self.robots_for(fetch_url).allows(fetch_url, USER_AGENT):
            return "robots"
        return "crawlable"

    def discover(self, url: str, source: str, referrer: str = "", hops: int = 0) -> str:
        kind = self.classify(url)
        if kind == "robots":
            self.skipped_robots.add(url)
        if kind != "crawlable":
            return kind
        return "queued" if self.store.enqueue(url, source, referrer, hops) else "known"

    def public(self, raw: str, base: str) -> str | None:
        url = normalize_url(raw, base=base)
        return self.config.to_public(url) if url else None

    def robots_for(self, fetch_url: str) -> Robots:
        host = host_key(fetch_url)
        robots = self.robots.get(host)
        if robots is None:
            robots = self.robots[host] = self.read_robots(host)
            if robots.crawl_delay is not None and self.config.respect_crawl_delay:
                self.gate.set_delay(host, max(self.config.delay, robots.crawl_delay))
        return robots

    def read_robots(self, host: str) -> Robots:
        url = f"{host}/robots.txt"
        for _ in range(ROBOTS_REDIRECTS + 1):
            result = self.request(url, accept=None)
            if result.outcome == fetch.REDIRECT and result.location:
                url = result.location
                continue
            if result.outcome == fetch.OK:
                return parse_robots(result.body.decode("utf-8", "replace"), USER_AGENT)
            if result.outcome == fetch.HTTP_ERROR and 400 <= result.status < 500:
                return Robots.missing()
            if result.outcome in (fetch.TOO_LARGE, fetch.SKIPPED_TYPE):
                return Robots.missing()
            return Robots.unreachable()
        return Robots.missing()  # RFC 9309: more than five redirects count as "unavailable"

    def request(self, fetch_url: str, accept=fetch.PAGE_TYPES, etag=None, last_modified=None) -> FetchResult:
        with self.gate.slot(host_key(fetch_url)):
            return self.fetcher.get(fetch_url, accept=accept, etag=etag, last_modified=last_modified)

    def read_sitemaps(self) -> None:
        start_fetch = self.config.to_fetch(self.config.start_url)
        host = host_key(start_fetch)
        declared = [u for u in (normalize_url(s) for s in self.robots_for(start_fetch).sitemaps) if u]
        declared = [self.config.to_fetch(self.config.to_public(u)) for u in declared]
        queue = [u for u in declared if host_key(u) == host] or [f"{host}/sitemap.xml"]
        seen: set[str] = set()
        while queue and len(seen) < MAX_SITEMAP_FILES:
            sitemap = queue.pop(0)
            if sitemap in seen or not self.robots_for(sitemap).allows(sitemap, USER_AGENT):
                continue
            seen.add(sitemap)
            result = self.request(sitemap, accept=fetch.SITEMAP_TYPES)
            if result.outcome != fetch.OK:
                continue
            pages, children = parse_sitemap(result.body)
            queue += [u for u in (normalize_url(c, base=sitemap) for c in children) if u and host_key(u) == host]
            found = [u for u in (self.public(p, sitemap) for p in pages) if u]
            for url in found:
                self.discover(url, "sitemap", referrer=self.config.to_public(sitemap))
            self.store.add_links(self.config.to_public(sitemap), found, "sitemap")

    def hints(self, url: str) -> tuple[PageRecord | None, tuple[str, str]]:
        """What a worker needs from the store: the stored page (validators) and link hints for PDFs."""
        stored = self.store.page(url)
        hint = self.store.link_hint(url) if url.lower().endswith(".pdf") or (stored and stored.kind == "pdf") \
            else ("", "")
        return stored, hint

    # --- one URL (worker threads: no store access) ----------------------------------------------

    def work(self, row: FrontierRow, stored: PageRecord | None, hint: tuple[str, str]) -> WorkResult:
        try:
            return self._work(row, stored, hint)
        except Cancelled:
            return WorkResult(row, cancelled=True)
        except Exception as exc:  # a bug or an odd page must not stop the whole crawl
            return WorkResult(row, outcome="error", error=f"{type(exc).__name__}: {exc}")

    def _work(self, row: FrontierRow, stored: PageRecord | None, hint: tuple[str, str]) -> WorkResult:
        fetch_url = self.config.to_fetch(row.url)
        reusable = stored is not None and stored.extractor_version == EXTRACTOR_VERSION
        result = self.request(fetch_url, etag=stored.etag if reusable else None,
                              last_modified=stored.last_modified if reusable else None)
        work = WorkResult(row, fetched=result, outcome=result.outcome, error=result.error)
        if result.outcome == fetch.NOT_MODIFIED:
            work.outcome = "unchanged" if reusable else "error"
            work.error = "" if reusable else "304 Not Modified without a stored copy"
            return work
        if result.outcome != fetch.OK:
            return work
        work.content_hash = hashlib.sha256(result.body).hexdigest()
        if reusable and stored.content_hash == work.content_hash:
            work.outcome = "unchanged"
            return work
        try:
            if result.is_pdf:
                work.extracted = extract_pdf(result.body, row.url, title_hint=hint[0], category_hint=hint[1])
                work.encoding = ""
            else:
                text, work.encoding = decode_html(result.body, result.content_type_header)
                work.extracted = extract_html(text, fetch_url)
        except ExtractError as exc:
            work.outcome, work.error = "error", str(exc)
            return work
        work.outcome = "changed" if stored is not None else "new"
        return work

    # --- results (calling thread) ---------------------------------------------------------------

    def handle(self, work: WorkResult) -> str:
        row = work.row
        if work.cancelled:
            self.store.requeue(row.url)
            return "cancelled"
        self.report.fetched += 1
        self.done += 1
        result = work.fetched
        outcome = work.outcome
        if outcome == "unchanged":
            self.store.touch_page(row.url, result.etag, result.last_modified)
            self.report.unchanged += 1
            for target, _ in self.store.links_from(row.url):
                self.discover(target, "link", referrer=row.url)
        elif outcome in ("new", "changed"):
            self.save(work)
        elif outcome == fetch.REDIRECT:
            target = self.config.to_public(result.location)
            if row.hops + 1 <= self.config.max_redirects:
                self.discover(target, "redirect", referrer=row.url, hops=row.hops + 1)
            self.store.finish_url(row.url, "redirect", result.status, redirect_to=target)
        else:
            status = result.status if result else None
            self.store.finish_url(row.url, outcome, status, error=work.error)
            if outcome == fetch.SKIPPED_TYPE:
                self.report.skipped += 1
            elif outcome in ("error", fetch.TOO_LARGE) or (status or 0) >= 500:
                self.report.errors += 1
        return outcome

    def save(self, work: WorkResult) -> None:
        row, result, page = work.row, work.fetched, work.extracted
        title = page.title or row.url.rstrip("/").rsplit("/", 1)[-1] or row.url
        record = {
            "url": row.url, "final_url": self.config.to_public(result.url), "status": result.status,
            "kind": page.kind, "content_type": result.content_type, "encoding": work.encoding,
            "etag": result.etag, "last_modified": result.last_modified, "content_hash": work.content_hash,
            "title": title, "category": page.category, "updated_at": page.updated_at, "fetched_at": now_iso(),
            "audience": self.config.audience, "extractor_version": EXTRACTOR_VERSION,
        }
        passages, repeats = [], {}
        for seq, section in enumerate(page.sections):
            occurrence = repeats.get(section.heading, 0)
            repeats[section.heading] = occurrence + 1
            passages.append({
                "passage_id": passage_id(row.url, section.heading, occurrence), "url": row.url, "seq": seq,
                "page_title": title, "heading": section.heading, "text": section.text,
                "category": page.category, "updated_at": page.updated_at,
            })
        links = []
        for link in page.links:
            url = self.public(link.url, result.url)
            if url:
                links.append((url, link.text))
        self.store.save_page(record, passages, links, work.outcome)
        if work.outcome == "new":
            self.report.new += 1
        else:
            self.report.changed += 1
        for url, _ in links:
            self.discover(url, "link", referrer=row.url)


class LinkResolver:
    """The status of a link target, following recorded redirects: ok, not_found, redirect_loop …"""

    def __init__(self, crawler: Crawler, frontier: dict[str, FrontierRow]):
        self.crawler = crawler
        self.frontier = frontier
        self.max_redirects = crawler.config.max_redirects

    def resolve(self, url: str) -> tuple[str, int | None, str]:
        chain: list[str] = []
        current = url
        while True:
            row = self.frontier.get(current)
            if row is None:
                kind = self.crawler.classify(current)
                if not chain:
                    return ("unchecked" if kind == "crawlable" else kind), None, ""
                if kind == "external":
                    return "offsite_redirect", None, f"redirects to {current}"
                if kind == "crawlable" and len(chain) >= self.max_redirects:
                    return "too_many_redirects", None, f"more than {self.max_redirects} redirects"
                return ("unchecked" if kind == "crawlable" else kind), None, f"redirects to {current}"
            if row.state != "done":
                return "unchecked", None, ""
            if row.outcome == "redirect":
                if current in chain:
                    return "redirect_loop", row.status, " → ".join([*chain, current])
                chain.append(current)
                if len(chain) > self.max_redirects:
                    return "too_many_redirects", row.status, f"more than {self.max_redirects} redirects"
                current = row.redirect_to or ""
                continue
            detail = f"via {chain[-1]} → {current}" if chain else ""
            if row.outcome in ("new", "changed", "unchanged"):
                return "ok", row.status, detail
            if row.outcome == "http_error":
                kind = {404: "not_found", 410: "gone"}.get(row.status or 0, "http_error")
                return kind, row.status, (detail + " " if detail else "") + (row.error or f"HTTP {row.status}")
            if row.outcome in (fetch.SKIPPED_TYPE, fetch.TOO_LARGE):
                return "skipped", row.status, row.error
            return "error", row.status, row.error

