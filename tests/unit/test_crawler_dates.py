"""更新日 and other page dates, 和暦 (令和・平成・昭和) included, to ISO dates."""

from __future__ import annotations

import pytest

from retrieval.crawler.dates import labelled_date, parse_date


@pytest.mark.parametrize(("text", "iso"), [
    ("更新日：令和8年4月1日", "2026-04-01"),
    ("更新日：令和元年5月1日", "2019-05-01"),
    ("最終更新日 平成31年4月30日", "2019-04-30"),
    ("掲載日：平成元年1月8日", "1989-01-08"),
    ("更新日：昭和64年1月7日", "1989-01-07"),
    ("更新日：２０２６年４月１日", "2026-04-01"),
    ("更新日：令和８年１２月３１日", "2026-12-31"),
    ("更新日：2026年2月16日", "2026-02-16"),
    ("更新日 2026/04/01", "2026-04-01"),
    ("更新日：R8.4.1", "2026-04-01"),
    ("更新日：H30.12.1", "2018-12-01"),
    ("［更新日：令和 8年 4月 1日］", "2026-04-01"),
])
def test_labelled_dates(text, iso):
    assert labelled_date(text) == iso


@pytest.mark.parametrize("text", [
    "更新日：令和8年2月30日",  # no such day
    "更新日：平成32年1月1日",  # 平成 ended in its 31st year
    "更新日：令和8年13月1日",
    "ページ番号 12345",
    "2026年度の予算",
])
def test_not_dates(text):
    assert labelled_date(text) is None


def test_update_is_preferred_over_publication():
    assert labelled_date("掲載日：2025年1月1日　更新日：令和8年3月1日") == "2026-03-01"
    assert labelled_date("掲載日：2025年1月1日") == "2025-01-01"


def test_unlabelled_dates_need_parse_date():
    assert labelled_date("令和8年4月1日から受付") is None
    assert parse_date("令和8年4月1日から受付") == "2026-04-01"
