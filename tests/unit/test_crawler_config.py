"""URL normalisation, allowed prefixes and the checks a crawl configuration makes."""

from __future__ import annotations

import pytest

from retrieval.crawler.config import CrawlConfig, CrawlConfigError, is_loopback
from retrieval.crawler.urls import directory_prefix, has_skipped_extension, normalize_url


@pytest.mark.parametrize(("raw", "base", "expected"), [
    ("HTTPS://WWW.City.Example.JP:443/a/../b/./c.html#top", None, "https://www.city.example.jp/b/c.html"),
    ("/kurashi/", "http://127.0.0.1:8000/index.html", "http://127.0.0.1:8000/kurashi/"),
    ("gomi.html?x=1", "https://x.example/kurashi/index.html", "https://x.example/kurashi/gomi.html?x=1"),
    ("https://x.example", None, "https://x.example/"),
    ("/ごみ/分別.html", "https://x.example/", "https://x.example/%E3%81%94%E3%81%BF/%E5%88%86%E5%88%A5.html"),
    ("mailto:a@x.example", None, None),
    ("javascript:void(0)", None, None),
    ("ftp://x.example/a", None, None),
    ("", None, None),
])
def test_normalize_url(raw, base, expected):
    assert normalize_url(raw, base=base) == expected


def test_directory_prefix_and_skipped_extensions():
    assert directory_prefix("https://x.example/kurashi/index.html") == "https://x.example/kurashi/"
    assert has_skipped_extension("https://x.example/a/photo.JPG")
    assert has_skipped_extension("https://x.example/data.csv")
    assert not has_skipped_extension("https://x.example/guide.pdf")
    assert not has_skipped_extension("https://x.example/v1.2/")


def test_default_allow_is_the_start_directory():
    config = CrawlConfig("https://www.city.example.jp/kurashi/index.html")
    assert config.allow == ("https://www.city.example.jp/kurashi/",)
    assert config.allowed("https://www.city.example.jp/kurashi/gomi/a.html")
    assert not config.allowed("https://www.city.example.jp/kenko/a.html")
    assert not config.allowed("https://other.example.jp/kurashi/a.html")
    assert config.delay >= 1.0  # polite by default


def test_allow_prefixes_may_be_paths():
    config = CrawlConfig("https://www.city.example.jp/", allow=("/kurashi/", "https://www.city.example.jp/files/"))
    assert config.allow == ("https://www.city.example.jp/kurashi/", "https://www.city.example.jp/files/")
    # the start page itself is always fetched: a top page can lead into the allowed sections
    assert config.allowed("https://www.city.example.jp/")
    assert not config.allowed("https://www.city.example.jp/kenko/")


@pytest.mark.parametrize("kwargs", [
    {"start_url": "www.city.example.jp"}, {"start_url": "https://x.example/", "delay": -1},
    {"start_url": "https://x.example/", "max_pages": 0}, {"start_url": "https://x.example/", "concurrency": 0},
    {"start_url": "https://x.example/", "audience": "admin"},
    {"start_url": "https://x.example/", "respect_crawl_delay": False},
    {"start_url": "https://x.example/", "public_origin": "https://y.example/sub/"},
])
def test_bad_configurations(kwargs):
    with pytest.raises(CrawlConfigError):
        CrawlConfig(**kwargs)


def test_crawl_delay_override_only_on_loopback():
    assert is_loopback("http://127.0.0.1:5000/") and is_loopback("http://localhost/") and is_loopback("http://[::1]/")
    assert not is_loopback("https://www.city.example.jp/")
    assert not CrawlConfig("http://127.0.0.1:5000/", respect_crawl_delay=False).respect_crawl_delay


def test_public_origin_mapping():
    config = CrawlConfig("http://127.0.0.1:5000/", public_origin="https://www.city.example.jp")
    assert config.to_public("http://127.0.0.1:5000/kurashi/a.html") == "https://www.city.example.jp/kurashi/a.html"
    assert config.to_fetch("https://www.city.example.jp/kurashi/a.html") == "http://127.0.0.1:5000/kurashi/a.html"
    assert config.to_public("https://www.example.org/") == "https://www.example.org/"
    assert config.to_fetch("https://www.example.org/") == "https://www.example.org/"
