"""The period report as PDF with reportlab: summary, tables, a bar chart, failure reasons.

Pure Python, so the report asset needs no browser in production. Hangul is set in
reportlab's built-in CID font HYSMyeongJo-Medium (as the DM letters are), so no font file
ships with UMS.
"""

from __future__ import annotations

from io import BytesIO

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.period import Line, PeriodReport

__all__ = ["FONT", "period_pdf"]

FONT = "HYSMyeongJo-Medium"
KIND_KO = {"daily": "일간", "weekly": "주간", "monthly": "월간"}
_HEAD = [
    "구분",
    "요청",
    "성공",
    "실패",
    "대체발송",
    "성공률",
    "대체발송률",
    "비용(원)",
    "요청 증감",
]


def period_pdf(report: PeriodReport) -> bytes:
    """The report as PDF bytes."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("t", fontName=FONT, fontSize=16, leading=20)
    body = ParagraphStyle("b", fontName=FONT, fontSize=9, leading=12)
    head = ParagraphStyle("h", fontName=FONT, fontSize=12, leading=16, spaceBefore=8)
    p = report.period
    t = report.total
    story: list[object] = [
        Paragraph(f"UMS {KIND_KO[p.kind]} 발송 리포트 {p.label}", title),
        Paragraph(
            f"{p.start.isoformat()} – {p.last_day.isoformat()} (KST), "
            f"이전 기간 {p.previous.label} 대비 · 생성 "
            f"{report.generated_at.strftime('%Y-%m-%d %H:%M %Z')}",
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"합계: 요청 {t.requested:,}건 · 성공 {t.delivered:,}건 · 성공률 "
            f"{_pct(t.success_rate)} · 대체발송률 {_pct(t.fallback_rate)} · 비용 {t.cost:,.0f}원",
            body,
        ),
    ]
    if report.empty:
        story.append(Paragraph("이 기간에 요청된 메시지가 없습니다.", head))
    else:
        story += [Paragraph("채널별 결과", head), _chart(report.channels)]
        for name, lines in (
            ("채널별", report.channels),
            ("부서별", report.departments),
            ("목적별", report.purposes),
        ):
            story += [Paragraph(name, head), _table(lines, t)]
        story.append(Paragraph("주요 실패 사유", head))
        rows = [["오류 코드", "건수", "이전 기간"]] + [
            [r.error_code, f"{r.failures:,}", f"{r.previous:,}"] for r in report.reasons
        ]
        story.append(_styled(Table(rows, hAlign="LEFT")))
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        title=f"UMS report {p.kind} {p.start.isoformat()}",
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    doc.build(story)
    return out.getvalue()


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _row(line: Line) -> list[str]:
    change = line.requested_change
    return [
        line.name,
        f"{line.requested:,}",
        f"{line.delivered:,}",
        f"{line.failed:,}",
        f"{line.fell_back:,}",
        _pct(line.success_rate),
        _pct(line.fallback_rate),
        f"{line.cost:,.0f}",
        "—" if change is None else f"{change:+,}",
    ]


def _table(lines: list[Line], total: Line) -> Table:
    return _styled(Table([_HEAD] + [_row(x) for x in lines] + [_row(total)], hAlign="LEFT"))


def _styled(table: Table) -> Table:
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        )
    )
    return table


def _chart(lines: list[Line]) -> Drawing:
    height = 40 + 36 * max(len(lines), 1)
    drawing = Drawing(170 * mm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 90, 20, 360, height - 30
    chart.data = [
        [x.delivered for x in lines],
        [x.failed for x in lines],
        [x.fell_back for x in lines],
    ]
    chart.categoryAxis.categoryNames = [x.name for x in lines]
    chart.categoryAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    for i, colour in enumerate(("#1b7f3b", "#c62828", "#e08a00")):
        chart.bars[i].fillColor = colors.HexColor(colour)
    drawing.add(chart)
    return drawing
