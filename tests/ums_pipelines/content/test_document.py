"""The file form of content items: reading YAML/JSON, errors naming file and field, and
writing back what was read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from ums_pipelines.channels.payload import CHANNELS
from ums_pipelines.content.document import (
    Channel,
    ContentDocument,
    DocumentError,
    dump_document,
    load_document,
    load_documents,
    read_items,
)
from ums_pipelines.content.spec import LEGACY_SPECS, VariableKind
from ums_pipelines.lanes import Purpose

KST = timezone(timedelta(hours=9))


def item(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "card-due",
        "name": "카드 결제 예정 안내",
        "purpose": "informational",
        "variables": [{"name": "name", "kind": "customer"}],
        "variants": [
            {"channel": "sms", "body": "{{ name }}님 결제일 안내"},
            {"channel": "push", "subject": "결제 안내", "body": "{{ name }}님"},
            {"channel": "email", "subject": "안내", "body": "본문", "html_body": "<p>본문</p>"},
        ],
    }
    data.update(overrides)
    return data


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_channel_names_are_the_platforms() -> None:
    assert set(Channel.__args__) == set(CHANNELS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["offer.yaml", "offer.yml", "offer.json"])
def test_one_item_loads_from_yaml_or_json(tmp_path: Path, name: str) -> None:
    doc = load_document(
        write(tmp_path, name, item(tags=["card"], valid_until="2027-01-31T18:00:00+09:00"))
    )
    assert (doc.code, doc.purpose, doc.tags) == ("card-due", Purpose.INFORMATIONAL, ["card"])
    assert [v.channel for v in doc.variants] == ["sms", "push", "email"]
    assert doc.valid_until == datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    assert doc.variables[0].kind is VariableKind.CUSTOMER


def test_legacy_names_and_the_authentication_alias(tmp_path: Path) -> None:
    doc = load_document(
        write(tmp_path, "a.yaml", item(purpose="authentication", variables=["name", "today"]))
    )
    assert doc.purpose is Purpose.AUTH
    assert doc.variables == [LEGACY_SPECS["name"], LEGACY_SPECS["today"]]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"code": "has space"}, "offer.yaml: code: String should match pattern"),
        ({"name": ""}, "offer.yaml: name: String should have at least 1 character"),
        ({"purpose": "spam"}, "offer.yaml: purpose: Input should be 'informational'"),
        ({"valid_until": "2026-12-31T23:59:59"}, "offer.yaml: valid_until: has no time zone"),
        ({"valid_from": "2026-12-31"}, "offer.yaml: valid_from: has no time zone"),
        (
            {"valid_from": "2026-12-31T00:00:00+09:00", "valid_until": "2026-12-01T00:00:00+09:00"},
            "offer.yaml: valid_until: not after valid_from",
        ),
        ({"tags": ["a", "a"]}, "offer.yaml: tags: a tag is given twice"),
        ({"variants": []}, "offer.yaml: variants: List should have at least 1 item"),
        ({"colour": "red"}, "offer.yaml: colour: unknown field"),
        ({"variables": ["rrn"]}, "offer.yaml: variables: [0] 'rrn' is not a known variable name"),
        (
            {"variables": [{"name": "x", "kind": "customer", "field": "phone"}]},
            "offer.yaml: variables[0]: field: 'phone' is not a customer field",
        ),
        (
            {"variables": ["name", {"name": "name", "kind": "job"}]},
            "offer.yaml: variables: declared twice: name",
        ),
    ],
)
def test_a_bad_attribute_is_named_with_its_file(
    tmp_path: Path, overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(DocumentError) as err:
        load_document(write(tmp_path, "offer.yaml", item(**overrides)))
    assert str(err.value).startswith(expected)
    assert "errors.pydantic.dev" not in str(err.value)  # never the raw pydantic dump


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ({"channel": "fax", "body": "x"}, "variants[2].channel: Input should be 'sms'"),
        ({"channel": "sms"}, "variants[2].body: required"),
        ({"channel": "sms", "body": ""}, "variants[2].body: String should have at least 1"),
        (
            {"channel": "sms", "body": "x", "payload": {"kakao": 1}},
            "variants[2].payload.kakao: unknown field",
        ),
        (
            {"channel": "sms", "body": "x", "payload": {"images": [{"ref": "a"}]}},
            "variants[2].payload.images[0].content_type: required",
        ),
    ],
)
def test_a_bad_variant_is_named_by_its_position(
    tmp_path: Path, variant: dict[str, Any], expected: str
) -> None:
    variants = [{"channel": "alimtalk", "body": "a"}, {"channel": "push", "body": "b"}, variant]
    with pytest.raises(DocumentError, match=r"^offer\.yaml: ") as err:
        load_document(write(tmp_path, "offer.yaml", item(variants=variants)))
    assert expected in str(err.value)


def test_a_channel_given_twice_is_refused(tmp_path: Path) -> None:
    variants = [{"channel": "sms", "body": "a"}, {"channel": "sms", "body": "b"}]
    with pytest.raises(DocumentError, match="a channel has two variants: sms"):
        load_document(write(tmp_path, "x.json", item(variants=variants)))


def test_a_list_file_reads_each_item_on_its_own(tmp_path: Path) -> None:
    path = write(
        tmp_path, "many.yaml", [item(), item(code="bad code"), "text", item(code="second")]
    )
    items = read_items(path)
    assert [i.label for i in items] == [
        "many.yaml[0]",
        "many.yaml[1]",
        "many.yaml[2]",
        "many.yaml[3]",
    ]
    assert [i.document.code if i.document else None for i in items] == [
        "card-due",
        None,
        None,
        "second",
    ]
    assert items[1].error is not None and items[1].error.startswith("code: ")
    assert items[2].error == "an item is a mapping of fields"
    with pytest.raises(DocumentError, match=r"^many\.yaml\[1\]: code: "):
        load_documents(path)
    with pytest.raises(DocumentError, match="holds 2 items"):
        load_document(write(tmp_path, "two.yaml", [item(), item(code="b")]))


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "code: [unclosed\n", r"^bad\.yaml: line \d+: "),
        ("bad.json", '{"code": ', r"^bad\.json: line 1: "),
        ("empty.yaml", "", r"^empty\.yaml: holds no content item"),
        ("scalar.yaml", "just text\n", r"^scalar\.yaml: holds no content item"),
        ("notes.txt", "code: x\n", r"^notes\.txt: not a content file"),
    ],
)
def test_an_unreadable_file_is_named(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentError, match=expected):
        read_items(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"^gone\.yaml: cannot be read"):
        read_items(tmp_path / "gone.yaml")


FULL = item(
    content_type="event",
    department="digital-marketing",
    service_code="MKT-1",
    tags=["event", "savings"],
    valid_from="2026-12-01T09:00:00+09:00",
    valid_until="2027-01-31T18:00:00+09:00",
    approval_ids={"kakao": "UMS_EVT_01"},
    variables=[
        {"name": "name", "kind": "customer", "max_length": 20, "default": "고객"},
        {"name": "link", "kind": "short_url", "target": "https://m.bank.example/e"},
    ],
    variants=[
        {"channel": "sms", "body": "(광고) {{ name }}님\n{{ link }}\n무료수신거부 080-123-4567"},
        {
            "channel": "alimtalk",
            "body": "{{ name }}님 안내",
            "provider_template_code": "UMS_EVT_01",
            "payload": {"buttons": [{"type": "WL", "name": "보기", "url_mobile": "{{ link }}"}]},
        },
    ],
)


@pytest.mark.parametrize("name", ["out.yaml", "out.json"])
def test_what_is_written_reads_back_the_same(tmp_path: Path, name: str) -> None:
    doc = ContentDocument.model_validate(FULL)
    path = dump_document(doc, tmp_path / name, tz=KST)
    text = path.read_text(encoding="utf-8")
    assert "2027-01-31T18:00:00+09:00" in text  # written in the zone asked for
    assert "max_length" in text and "payload" in text
    assert "html_body" not in text  # no empty fields
    assert load_document(path) == doc


def test_a_list_is_written_and_multi_line_texts_stay_readable(tmp_path: Path) -> None:
    docs = [ContentDocument.model_validate(FULL), ContentDocument.model_validate(item(code="b"))]
    path = dump_document(docs, tmp_path / "both.yaml")
    assert "body: |-\n" in path.read_text(encoding="utf-8")
    assert load_documents(path) == docs
    with pytest.raises(DocumentError, match=r"^out\.txt: give a \.yaml"):
        dump_document(docs[0], tmp_path / "out.txt")
