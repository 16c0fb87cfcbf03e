"""render_daily_report: numbers, comparison, escaping and the empty day (no browser)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from reports.render import load_daily_report, render_daily_report
from ums_pipelines.analytics import export_to_parquet, run_all, run_model
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store

# The renderer reads only the analytics file; both store backends are covered in tests/sql.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

GENERATED = datetime(2025, 3, 11, 0, 5, tzinfo=UTC)


def test_channel_table_numbers_and_change_vs_previous_day(
    report_settings: Settings, seed: ModuleType, parse_report: Callable[[str], Any]
) -> None:
    path = render_daily_report(report_settings, seed.D1, generated_at=GENERATED)
    assert path == report_settings.reports_dir / "daily" / "2025-03-10.html"
    dom = parse_report(path.read_text(encoding="utf-8"))
    table = dom.tables["channel-table"]
    assert table["tbody"] == [
        ["앱 푸시 App push", "6", "5", "3", "1", "1", "60.0%", "+5", "−40.0%p"],
        ["카카오 알림톡 KakaoTalk AlimTalk", "4", "4", "2", "0", "1", "50.0%", "—", "—"],
        ["문자 Text message", "4", "3", "2", "0", "0", "66.7%", "+3", "+66.7%p"],
    ]
    assert table["tfoot"] == [["합계 Total", "14", "12", "7", "1", "2", "58.3%", "+12", "+8.3%p"]]
    types = dom.tables["type-table"]["tbody"]
    assert [row[0] for row in types] == [
        "앱 푸시 · 앱 푸시 Push notification",
        "카카오 알림톡 · 알림톡 AlimTalk",
        "문자 · 단문 문자(SMS) Short text (SMS)",
        "문자 · 장문 문자(LMS) Long text (LMS)",
    ]
    assert types[0][-2:] == ["5.0s", "6.8s"]


def test_chart_has_a_bar_per_channel_and_series_on_one_scale(
    report_settings: Settings, seed: ModuleType, parse_report: Callable[[str], Any]
) -> None:
    path = render_daily_report(report_settings, seed.D1, generated_at=GENERATED)
    bars = parse_report(path.read_text(encoding="utf-8")).bars
    assert len(bars) == 9
    widths = {(b["class"], float(b["width"])) for b in bars}
    # Peak is push's 3 delivered, drawn 300 px wide.
    assert ("bar bar-delivered", 300.0) in widths
    assert ("bar bar-delivered", 200.0) in widths  # alimtalk 2 and sms 2
    assert ("bar bar-failed", 100.0) in widths  # push 1
    assert ("bar bar-failed", 0.0) in widths  # alimtalk 0


def test_page_is_self_contained_and_stamped_in_korea_time(
    report_settings: Settings, seed: ModuleType
) -> None:
    html = render_daily_report(report_settings, seed.D1, generated_at=GENERATED).read_text(
        encoding="utf-8"
    )
    assert "2025-03-11 09:05:00 KST" in html
    assert '<meta name="viewport"' in html
    for needle in ("<script", "<link", " src=", "https://", "@import"):
        assert needle not in html
    # The SVG namespace is an identifier, never fetched; no other URL appears.
    assert html.count("http://") == html.count('xmlns="http://www.w3.org/2000/svg"') == 1


def test_data_is_escaped(seed: ModuleType, store: Store, settings: Settings) -> None:
    seed.seed_scenario(store)
    with store.session() as s:
        seed.add_message(
            s,
            "odd",
            channel="<i>x</i>",
            message_type="<b>",
            state="queued",
            created_at=seed.kst(seed.D1, 15),
        )
    export_to_parquet(store, settings)
    run_all(settings)
    html = render_daily_report(settings, seed.D1).read_text(encoding="utf-8")
    assert "&lt;i&gt;x&lt;/i&gt;" in html
    assert "<i>x</i>" not in html and "<b>" not in html


def test_a_day_without_messages_renders_a_clear_page(
    report_settings: Settings, seed: ModuleType, parse_report: Callable[[str], Any]
) -> None:
    day = seed.D1 + timedelta(days=30)
    assert load_daily_report(report_settings, day).empty
    path = render_daily_report(report_settings, day, generated_at=GENERATED)
    dom = parse_report(path.read_text(encoding="utf-8"))
    assert "no-messages" in dom.ids
    assert "channel-table" not in dom.tables and dom.bars == []
    assert "메시지가 없습니다" in path.read_text(encoding="utf-8")


def test_missing_analytics_is_an_error_not_an_empty_report(
    settings: Settings, seed: ModuleType
) -> None:
    with pytest.raises(FileNotFoundError):
        render_daily_report(settings, seed.D1)
    run_model("stg_messages", settings)
    with pytest.raises(LookupError, match="rpt_daily_channel"):
        render_daily_report(settings, seed.D1)
    assert not (settings.reports_dir / "daily").exists()
