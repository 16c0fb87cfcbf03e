"""Fixtures: the shared analytics seed (tests/sql/seed_analytics.py), loaded by path."""

from __future__ import annotations

from html.parser import HTMLParser
from types import ModuleType

import pytest

from ums_pipelines.analytics import export_to_parquet, run_all
from ums_pipelines.settings import Settings
from ums_pipelines.store import Store


class ReportDom(HTMLParser):
    """The parts of a report page the tests look at: tables by id, chart bars, all ids."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tables: dict[str, dict[str, list[list[str]]]] = {}
        self.bars: list[dict[str, str]] = []
        self._table: str | None = None
        self._section = "tbody"
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_chart = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = {"thead": [], "tbody": [], "tfoot": []}
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "svg" and a.get("id") == "channel-chart":
            self._in_chart = True
        elif tag == "rect" and self._in_chart and "bar" in a.get("class", "").split():
            self.bars.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table][self._section].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "svg":
            self._in_chart = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def report_settings(seed: ModuleType, store: Store, settings: Settings) -> Settings:
    """Settings whose analytics file holds the seed scenario, every model built."""
    seed.seed_scenario(store)
    export_to_parquet(store, settings)
    run_all(settings)
    return settings


@pytest.fixture(scope="session")
def parse_report() -> type[ReportDom]:
    return ReportDom
