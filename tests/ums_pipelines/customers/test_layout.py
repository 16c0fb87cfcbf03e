"""Fixed-width layouts: the example in the repository loads; an invalid one names the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ums_pipelines.customers.layout import LayoutError, load_layout, parse_layout

EXAMPLE = Path(__file__).resolve().parents[3] / "layouts" / "customer_v1.yaml"


def layout(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base: list[dict[str, Any]] = [
        {"name": "customer_id", "start": 1, "length": 10},
        {"name": "changed_at", "start": 11, "length": 14, "type": "datetime"},
    ]
    return {"name": "t", "record_length": 60, "fields": base + list(fields), **extra}


def test_the_example_layout_loads() -> None:
    example = load_layout(EXAMPLE)
    assert (example.name, example.encoding, example.record_length) == ("customer_v1", "cp949", 100)
    assert example.header is not None and example.header.type == "H"
    assert example.trailer is not None and example.trailer.count is not None
    assert [f.name for f in example.fields if f.ignore] == ["rrn"]
    assert "rrn" not in [f.name for f in example.data_fields()]


def f(name: str, start: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "start": start, "length": length, **extra}


GT1 = "Input should be greater than or equal to 1"
ONLY_ID = {"name": "t", "record_length": 10, "fields": [f("customer_id", 1, 10)]}
INVALID = [
    (layout(f("name", 25, 20), f("phone", 40, 11)), "fields[3] (phone): bytes 40-50 overlap name"),
    (layout({"start": 25, "length": 20}), "fields[2].name: required"),
    (layout(f("name", 50, 20)), "fields[2] (name): bytes 50-69 pass the record length 60"),
    (layout(f("nmae", 25, 5)), "fields[2] (nmae): not a change-file column"),
    (layout(f("name", 0, 5)), f"fields[2] (name).start: {GT1}"),
    (layout(f("name", 25, 5, format="%Y")), "fields[2] (name): format applies to datetime"),
    (layout(f("customer_id", 25, 5)), "fields[2] (customer_id): name repeats fields[0]"),
    (layout(encoding="klingon"), "encoding: Value error, unknown encoding 'klingon'"),
    (layout(header={"type": "H"}), "record_type: required when header, trailer or data_type"),
    (
        layout(record_type={"start": 1, "length": 1}),
        "fields[0] (customer_id): bytes 1-10 overlap record_type (bytes 1-1)",
    ),
    (ONLY_ID, "fields: no changed_at field"),
    ({"name": "t", "fields": []}, "record_length: required"),
    ([1, 2], "must be a mapping"),
]


@pytest.mark.parametrize(("raw", "message"), INVALID)
def test_an_invalid_layout_names_the_field(raw: Any, message: str) -> None:
    with pytest.raises(LayoutError) as caught:
        parse_layout(raw, "layout t.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("layout t.yaml: ")


def test_a_layout_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nfields: [\n  {name: customer_id\n", encoding="utf-8")
    with pytest.raises(LayoutError, match=r"layout broken.yaml: not valid YAML at line \d+"):
        load_layout(path)
    with pytest.raises(LayoutError, match=r"layout missing\.yaml: cannot read"):
        load_layout(tmp_path / "missing.yaml")
