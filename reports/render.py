"""The daily delivery report: one self-contained HTML page per Korea-time day.

Reads ``rpt_daily_channel`` through a read-only DuckDB connection (the analytics file has
one writer, the model runner) and renders ``templates/daily.html.j2``. The page needs no
network and no JavaScript: CSS and the SVG chart are inline, so it can be mailed,
archived, or opened on a phone as it is.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ums_pipelines.analytics.models import read_only_connection
from ums_pipelines.settings import Settings

__all__ = [
    "Bar",
    "ChannelLine",
    "Chart",
    "ChartRow",
    "DailyReport",
    "TypeLine",
    "build_chart",
    "load_daily_report",
    "render_daily_report",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"

_QUERY = """
select report_day, channel, channel_name_ko, channel_name_en, message_type,
       message_type_name_ko, message_type_name_en, requested, sent, delivered, failed,
       fell_back, expired, cancelled, in_flight, success_rate,
       latency_p50_seconds, latency_p95_seconds
from rpt_daily_channel
where report_day in (?, ?)
order by channel_order, channel, message_type_order, message_type
"""
_COUNTS = ("requested", "sent", "delivered", "failed", "fell_back", "expired", "in_flight")
# Chart series: field, Korean / English label, colour. Each bar also carries its number
# and the legend its name, so colour is never the only cue.
SERIES = (
    ("delivered", "성공", "Delivered", "#1b7f3b"),
    ("failed", "실패", "Failed", "#c62828"),
    ("fell_back", "대체발송", "Fell back", "#e08a00"),
)


@dataclass
class ChannelLine:
    """One channel's day (all its message types), or the total over channels."""

    channel: str
    name_ko: str
    name_en: str
    requested: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    fell_back: int = 0
    expired: int = 0
    in_flight: int = 0
    previous: ChannelLine | None = None

    @property
    def success_rate(self) -> float | None:
        return self.delivered / self.sent if self.sent else None

    @property
    def requested_change(self) -> int | None:
        return None if self.previous is None else self.requested - self.previous.requested

    @property
    def success_rate_change(self) -> float | None:
        if self.previous is None or self.success_rate is None:
            return None
        before = self.previous.success_rate
        return None if before is None else self.success_rate - before

    def add(self, row: dict[str, Any]) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + int(row[name]))


@dataclass(frozen=True)
class TypeLine:
    """One message type of one channel, with its delivery latency."""

    channel_name_ko: str
    name_ko: str
    name_en: str
    requested: int
    sent: int
    delivered: int
    success_rate: float | None
    latency_p50: float | None
    latency_p95: float | None


@dataclass(frozen=True)
class Bar:
    series: str
    label: str
    value: int
    colour: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ChartRow:
    label: str
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    rows: list[ChartRow] = field(default_factory=list)


@dataclass(frozen=True)
class DailyReport:
    day: date
    previous_day: date
    channels: list[ChannelLine]
    types: list[TypeLine]
    total: ChannelLine
    generated_at: datetime

    @property
    def empty(self) -> bool:
        return not self.channels


def load_daily_report(
    settings: Settings, day: date, *, generated_at: datetime | None = None
) -> DailyReport:
    """The numbers of ``day`` and of the day before, from the analytics file."""
    previous_day = day - timedelta(days=1)
    with read_only_connection(settings) as conn:
        try:
            cur = conn.execute(_QUERY, [day, previous_day])
        except duckdb.CatalogException as exc:
            raise LookupError("rpt_daily_channel is not built yet: run the models") from exc
        names = [d[0] for d in cur.description or []]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    today: dict[str, ChannelLine] = {}
    before: dict[str, ChannelLine] = {}
    types: list[TypeLine] = []
    for row in rows:
        lines = today if row["report_day"] == day else before
        channel = str(row["channel"])
        if channel not in lines:
            lines[channel] = ChannelLine(
                channel, str(row["channel_name_ko"]), str(row["channel_name_en"])
            )
        lines[channel].add(row)
        if lines is today:
            types.append(_type_line(row))

    total = ChannelLine("total", "합계", "Total")
    total_before = ChannelLine("total", "합계", "Total")
    for line in today.values():
        line.previous = before.get(line.channel)
        total.add(vars(line))
    for line in before.values():
        total_before.add(vars(line))
    total.previous = total_before if before else None
    return DailyReport(
        day=day,
        previous_day=previous_day,
        channels=list(today.values()),
        types=types,
        total=total,
        generated_at=(generated_at or datetime.now(UTC)).astimezone(settings.tz),
    )


def render_daily_report(
    settings: Settings, day: date, *, generated_at: datetime | None = None
) -> Path:
    """Write ``reports_dir/daily/YYYY-MM-DD.html`` for Korea-time ``day`` and return it."""
    report = load_daily_report(settings, day, generated_at=generated_at)
    html = (
        _environment()
        .get_template("daily.html.j2")
        .render(report=report, chart=build_chart(report.channels), series=SERIES)
    )
    path = settings.reports_dir / "daily" / f"{day.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)  # a reader (or a mail job) never sees half a page
    finally:
        tmp.unlink(missing_ok=True)
    return path


def build_chart(channels: list[ChannelLine]) -> Chart:
    """Horizontal bars per channel, one per series, all on one scale."""
    # A narrow drawing keeps its text legible when a phone scales it down to fit.
    label_width, bar_area, bar_h, gap, group_gap, top = 110, 300, 18, 3, 18, 36
    peak = max((getattr(c, s[0]) for c in channels for s in SERIES), default=0)
    group = len(SERIES) * bar_h + (len(SERIES) - 1) * gap
    rows: list[ChartRow] = []
    for i, line in enumerate(channels):
        y0 = top + i * (group + group_gap)
        bars = []
        for j, (name, ko, _en, colour) in enumerate(SERIES):
            value = int(getattr(line, name))
            # A non-zero value keeps a visible sliver, so "1" is not drawn like "0".
            width = 0.0 if not peak else max(bar_area * value / peak, 2.0 if value else 0.0)
            y = y0 + j * (bar_h + gap)
            bars.append(Bar(name, ko, value, colour, label_width, y, round(width, 1), bar_h))
        rows.append(ChartRow(line.name_ko, y0 + group / 2, bars))
    height = top + len(channels) * (group + group_gap)
    return Chart(
        width=label_width + bar_area + 70, height=height, label_width=label_width, rows=rows
    )


def _type_line(row: dict[str, Any]) -> TypeLine:
    def opt(name: str) -> float | None:
        value = row[name]
        return None if value is None else float(value)

    return TypeLine(
        channel_name_ko=str(row["channel_name_ko"]),
        name_ko=str(row["message_type_name_ko"]),
        name_en=str(row["message_type_name_en"]),
        requested=int(row["requested"]),
        sent=int(row["sent"]),
        delivered=int(row["delivered"]),
        success_rate=opt("success_rate"),
        latency_p50=opt("latency_p50_seconds"),
        latency_p95=opt("latency_p95_seconds"),
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # channel names come from data: never trusted as markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda n: "—" if n is None else f"{n:,}"
    env.filters["pct"] = lambda r: "—" if r is None else f"{r * 100:.1f}%"
    env.filters["signed"] = lambda n: "—" if n is None else f"{n:+,}".replace("-", "−")
    env.filters["pp"] = lambda r: "—" if r is None else f"{r * 100:+.1f}%p".replace("-", "−")
    env.filters["secs"] = lambda s: "—" if s is None else f"{s:,.1f}s"
    return env
