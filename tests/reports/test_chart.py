"""build_chart: bar geometry of the daily report (pure, no store)."""

from __future__ import annotations

from reports.render import ChannelLine, build_chart


def test_bars_share_one_scale_and_small_values_stay_visible() -> None:
    lines = [
        ChannelLine("sms", "문자", "Text message", delivered=1000, failed=1),
        ChannelLine("push", "앱 푸시", "App push", delivered=500, fell_back=250),
    ]
    chart = build_chart(lines)
    widths = [[(b.series, b.width) for b in row.bars] for row in chart.rows]
    assert widths == [
        [("delivered", 300.0), ("failed", 2.0), ("fell_back", 0.0)],
        [("delivered", 150.0), ("failed", 0.0), ("fell_back", 75.0)],
    ]
    assert [row.label for row in chart.rows] == ["문자", "앱 푸시"]
    # Every bar lies inside the drawing.
    for row in chart.rows:
        for bar in row.bars:
            assert bar.x + bar.width <= chart.width and bar.y + bar.height <= chart.height


def test_a_day_with_only_zeros_draws_empty_bars() -> None:
    chart = build_chart([ChannelLine("sms", "문자", "Text message", requested=3)])
    assert [b.width for b in chart.rows[0].bars] == [0.0, 0.0, 0.0]
