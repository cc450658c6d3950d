"""Usage statistics from the conversation log, for PDCA and the annual report (毎年度の公表).

Counts are of residents' *questions*: typed messages and choices that got an answer tier
(button clicks for feedback or menus are not questions). Rates:

- answered: an FAQ answer, a guided/scripted answer (garbage days, procedures) or a page;
- suggested: もしかして candidates offered; unknown: 「分かりません」 / 「どれにも当てはまらない」;
- helpfulness: 役に立った ÷ (役に立った + 役に立たなかった) — the honest answer rate.

Times are grouped in Asia/Tokyo; the fiscal year (年度) runs from April to March.
Charts are small server-side SVGs (no JavaScript, no CDN).
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from retrieval.faq import FaqEntry
from retrieval.office_hours import OfficeHours

TOKYO = ZoneInfo("Asia/Tokyo")
ANSWERED = {"answer", "page"}
QUESTION_TIERS = {"answer", "page", "suggest", "unknown"}
REASONS = {"unknown": "分からない", "none_of_these": "どれにも当てはまらない", "not_helpful": "役に立たなかった"}


def fiscal_year_range(year: int) -> tuple[datetime, datetime]:
    """年度 ``year``: 1 April ``year`` 00:00 to 1 April ``year+1`` 00:00, Tokyo time."""
    return datetime(year, 4, 1, tzinfo=TOKYO), datetime(year + 1, 4, 1, tzinfo=TOKYO)


def fiscal_months(year: int) -> list[str]:
    return [f"{year + (m < 4)}-{m:02d}" for m in (*range(4, 13), 1, 2, 3)]


@dataclass
class Usage:
    start: datetime
    end: datetime
    questions: int = 0
    conversations: int = 0
    answered: int = 0
    suggested: int = 0
    unknown: int = 0
    helpful: int = 0
    not_helpful: int = 0
    by_day: Counter = field(default_factory=Counter)
    by_month: Counter = field(default_factory=Counter)
    by_hour: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)
    top_questions: list[tuple[str, str, int]] = field(default_factory=list)  # (faq_id, question, count)
    top_unanswered: list[tuple[str, int]] = field(default_factory=list)  # (masked text, count)
    unanswered_by_reason: Counter = field(default_factory=Counter)
    latency_p50_ms: int = 0
    latency_p95_ms: int = 0

    def rate(self, part: int) -> float:
        return part / self.questions if self.questions else 0.0

    @property
    def helpfulness(self) -> float | None:
        rated = self.helpful + self.not_helpful
        return self.helpful / rated if rated else None


def usage(turns: list[dict], unanswered: list[dict], entries: list[FaqEntry], start: datetime, end: datetime,
          top: int = 10) -> Usage:
    """Aggregate turns (``ConversationLog.turns_between``) and the unanswered queue of one period."""
    by_id = {e.faq_id: e for e in entries}
    result = Usage(start, end)
    sessions, latencies, asked = set(), [], Counter()
    for turn in turns:
        if turn.get("feedback") == "helpful":
            result.helpful += 1
        elif turn.get("feedback") == "not_helpful":
            result.not_helpful += 1
        if turn.get("tier") not in QUESTION_TIERS:
            continue
        local = turn["created_at"].astimezone(TOKYO)
        result.questions += 1
        sessions.add(turn["session_hash"])
        result.by_day[local.date().isoformat()] += 1
        result.by_month[local.strftime("%Y-%m")] += 1
        result.by_hour[local.hour] += 1
        latencies.append(turn.get("latency_ms") or 0)
        tier = turn["tier"]
        if tier in ANSWERED:
            result.answered += 1
        elif tier == "suggest":
            result.suggested += 1
        else:
            result.unknown += 1
        entry = by_id.get(turn.get("faq_id") or "")
        if entry is not None:
            asked[entry.faq_id] += 1
        result.by_category[(entry.category1 if entry else "") or ("ホームページ" if tier == "page" else "その他")] += 1
    result.conversations = len(sessions)
    result.top_questions = [(faq_id, by_id[faq_id].question, n) for faq_id, n in asked.most_common(top)]
    texts = Counter(" ".join(row["text"].split()) for row in unanswered)
    result.top_unanswered = texts.most_common(top)
    result.unanswered_by_reason = Counter(row["reason"] for row in unanswered)
    if latencies:
        ordered = sorted(latencies)
        result.latency_p50_ms = ordered[len(ordered) // 2]
        result.latency_p95_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return result


# --- rendering ------------------------------------------------------------------------

def bar_chart(labels: list[str], values: list[int], title: str, width: int = 640, height: int = 220) -> str:
    """A small accessible SVG bar chart (role=img with a Japanese title and a text summary)."""
    top = max(values or [0]) or 1
    gap, left, bottom = 4, 40, 36
    bar = max(2, (width - left - gap * len(values)) // max(1, len(values)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" class="chart"><title>{html.escape(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#555b63"/>',
             f'<text x="{left - 6}" y="14" text-anchor="end" font-size="11" fill="#1f2328">{top}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = round((height - bottom - 20) * value / top)
        x = left + gap + i * (bar + gap)
        parts.append(f'<rect x="{x}" y="{height - bottom - h}" width="{bar}" height="{h}" fill="#1d5fa7">'
                     f'<title>{html.escape(label)}: {value}</title></rect>')
        if len(labels) <= 24:
            parts.append(f'<text x="{x + bar / 2}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
                         f'fill="#1f2328">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def monthly_rows(result: Usage, months: list[str]) -> list[tuple[str, int]]:
    return [(month, result.by_month.get(month, 0)) for month in months]


def to_csv(result: Usage, months: list[str]) -> str:
    """Monthly table plus the totals, for publishing as open data (UTF-8 with BOM for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["月", "質問数"])
    writer.writerows(monthly_rows(result, months))
    writer.writerow([])
    writer.writerow(["項目", "値"])
    for name, value in summary_rows(result):
        writer.writerow([name, value])
    writer.writerow([])
    writer.writerow(["分野", "質問数"])
    writer.writerows(result.by_category.most_common())
    return "\ufeff" + out.getvalue()


def summary_rows(result: Usage) -> list[tuple[str, str]]:
    helpfulness = f"{result.helpfulness:.1%}" if result.helpfulness is not None else "評価なし"
    return [
        ("質問数", f"{result.questions}"),
        ("会話数", f"{result.conversations}"),
        ("回答できた割合", f"{result.rate(result.answered):.1%}"),
        ("候補を示した割合（もしかして）", f"{result.rate(result.suggested):.1%}"),
        ("回答できなかった割合", f"{result.rate(result.unknown):.1%}"),
        ("役に立った割合（評価された回答のうち）", f"{helpfulness}（{result.helpful + result.not_helpful}件の評価）"),
        ("応答時間（中央値／95%）", f"{result.latency_p50_ms} ms／{result.latency_p95_ms} ms"),
    ]


def period_days(start: datetime, end: datetime) -> list[str]:
    days, day = [], start.astimezone(TOKYO).date()
    last = (end.astimezone(TOKYO) - timedelta(seconds=1)).date()
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days



def template_context(result: Usage, months: list[str], turns: list[dict], office: OfficeHours) -> dict:
    """Variables for ``templates/stats_body.html``."""
    off_hours = sum(1 for t in turns if t.get("tier") in QUESTION_TIERS and not office.status(t["created_at"]).open)
    hours = [f"{h}" for h in range(24)]
    return {
        "usage": result,
        "summary": summary_rows(result),
        "monthly": monthly_rows(result, months),
        "monthly_chart": bar_chart([m[5:] + "月" for m in months], [n for _, n in monthly_rows(result, months)],
                                   "月別の質問数"),
        "hourly_chart": bar_chart(hours, [result.by_hour.get(h, 0) for h in range(24)], "時間帯別の質問数（時）"),
        "off_hours": off_hours,
        "off_hours_rate": f"{off_hours / result.questions:.1%}" if result.questions else "-",
        "unanswered_reasons": [(REASONS.get(k, k), n) for k, n in result.unanswered_by_reason.most_common()],
    }
