"""robots.txt rules and Crawl-delay for our User-Agent; sitemaps and sitemap indexes."""

from __future__ import annotations

import gzip

from retrieval.crawler.config import USER_AGENT
from retrieval.crawler.robots import Robots, parse_robots, parse_sitemap

ROBOTS = """# sample
User-agent: *
Disallow: /kanri/
Crawl-delay: 1

User-agent: BadBot
Disallow: /

Sitemap: https://www.city.example.jp/sitemap.xml
sitemap: https://www.city.example.jp/sitemap-news.xml
"""


def test_disallow_and_crawl_delay_for_everyone():
    robots = parse_robots(ROBOTS, USER_AGENT)
    assert not robots.allows("https://www.city.example.jp/kanri/naibu.html", USER_AGENT)
    assert robots.allows("https://www.city.example.jp/kurashi/index.html", USER_AGENT)
    assert robots.crawl_delay == 1.0
    assert robots.sitemaps == ["https://www.city.example.jp/sitemap.xml", "https://www.city.example.jp/sitemap-news.xml"]


def test_our_own_group_wins_and_fractional_delays_are_read():
    text = "User-agent: *\nDisallow: /\nCrawl-delay: 5\n\nUser-agent: citybot-crawler\nDisallow: /tmp/\nCrawl-delay: 0.5\n"
    robots = parse_robots(text, USER_AGENT)
    assert robots.allows("https://x.example/page.html", USER_AGENT)
    assert not robots.allows("https://x.example/tmp/a.html", USER_AGENT)
    assert robots.crawl_delay == 0.5


def test_missing_and_unreachable_robots():
    assert Robots.missing().allows("https://x.example/anything", USER_AGENT)
    assert not Robots.unreachable().allows("https://x.example/anything", USER_AGENT)
    assert parse_robots("", USER_AGENT).crawl_delay is None


def test_sitemap_and_index():
    urlset = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc> https://x.example/a.html </loc><lastmod>2026-04-01</lastmod></url>
<url><loc>https://x.example/b.html</loc></url></urlset>"""
    assert parse_sitemap(urlset) == (["https://x.example/a.html", "https://x.example/b.html"], [])
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://x.example/s1.xml</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(index) == ([], ["https://x.example/s1.xml"])
    assert parse_sitemap(gzip.compress(urlset))[0] == ["https://x.example/a.html", "https://x.example/b.html"]
    assert parse_sitemap(b"not xml at all") == ([], [])
