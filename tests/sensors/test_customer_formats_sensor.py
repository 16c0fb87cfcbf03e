"""customer_files_sensor picks JSON Lines files and the fixed-width files UMS_CHANGE_LAYOUTS
maps to a layout, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from sensors.sensors import customer_files_sensor
from ums_pipelines.definitions import defs
from ums_pipelines.resources import UmsResource
from ums_pipelines.settings import Settings

LAYOUT = Path(__file__).resolve().parents[2] / "layouts" / "customer_v1.yaml"


def tick(ums: UmsResource) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(resources={"ums": ums}, definitions=defs) as context:
        result = customer_files_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def test_json_lines_and_mapped_fixed_width_files_are_picked_up(
    ums: UmsResource, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = settings.customer_inbox
    inbox.mkdir(parents=True)
    (inbox / "CUST_20240502.dat").write_bytes(b"H20240502")
    (inbox / "notes.txt").write_text("not a change file", encoding="utf-8")
    assert isinstance(tick(ums), dg.SkipReason)  # no layout maps *.dat yet

    monkeypatch.setenv("UMS_CHANGE_LAYOUTS", json.dumps({"CUST_*.dat": str(LAYOUT)}))
    result = tick(ums)
    assert isinstance(result, dg.SensorResult)
    [run] = result.run_requests or []
    assert run.tags["files"] == "1"

    (inbox / "cust.jsonl").write_text("{}\n", encoding="utf-8")
    result = tick(ums)
    assert isinstance(result, dg.SensorResult)
    [both] = result.run_requests or []
    assert both.tags["files"] == "2" and both.run_key != run.run_key
