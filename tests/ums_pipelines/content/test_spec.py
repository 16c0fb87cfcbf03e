"""The variable schema: what a declaration may read, and how stored schemas load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ums_pipelines.content.spec import LEGACY_SPECS, VariableKind, VariableSpec, specs_from


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"name": "rrn", "kind": "customer"}, "'rrn' is not a customer field"),
        ({"name": "x", "kind": "customer", "field": "phone"}, "'phone' is not a customer field"),
        ({"name": "Name", "kind": "job"}, "lower-case letters"),
        ({"name": "__class__", "kind": "job"}, "lower-case letters"),
        ({"name": "self", "kind": "job"}, "reserves"),
        ({"name": "link", "kind": "short_url"}, "target: a short_url variable needs"),
        ({"name": "hero", "kind": "image"}, "choices: an image variable needs"),
        ({"name": "a", "kind": "job", "max_length": 2, "default": "abc"}, "longer than"),
        ({"name": "a", "kind": "job", "eval": "1"}, "Extra inputs are not permitted"),
        ({"name": "a", "kind": "shell"}, "Input should be"),
    ],
)
def test_a_declaration_outside_the_whitelist_is_refused(data: dict[str, str], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        VariableSpec.model_validate(data)


def test_legacy_names_load_as_their_fields_and_unknown_names_are_refused() -> None:
    specs = specs_from(["name", "today"])
    assert [(s.name, s.kind) for s in specs] == [
        ("name", VariableKind.CUSTOMER),
        ("today", VariableKind.JOB),
    ]
    with pytest.raises(ValueError, match=r"variables\[1\]: 'account_no' is not a known"):
        specs_from(["name", "account_no"])


def test_a_spec_round_trips_through_its_stored_form() -> None:
    spec = VariableSpec(
        name="event_link", kind=VariableKind.SHORT_URL, target="https://bank.example/e?c=1"
    )
    stored = spec.to_json()
    assert stored == {"name": "event_link", "kind": "short_url", "target": spec.target}
    assert specs_from([stored, "branch"]) == [spec, LEGACY_SPECS["branch"]]
