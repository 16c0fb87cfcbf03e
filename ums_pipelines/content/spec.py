"""The declared variables of a content item: one schema, the same on every channel.

A tag in any variant (``{{ name }}``) must be a declared variable; what a variable may
read is fixed by its kind, so a template can never reach a field nobody whitelisted:

- ``customer``: a field of the customer profile (``CUSTOMER_FIELDS``);
- ``job``: a field of the send job (``JOB_FIELDS``) or one of its ``params``;
- ``short_url``: a per-recipient short link to ``target`` (itself templated);
- ``feedback_url``: a per-recipient short link to the bank's feedback page;
- ``phrase``: an "emotional phrase" from the managed list, by occasion or season;
- ``image``: one of ``choices`` (image refs), picked by the value of ``field``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CUSTOMER_FIELDS",
    "JOB_FIELDS",
    "LEGACY_SPECS",
    "Mask",
    "VariableKind",
    "VariableSpec",
    "specs_from",
]

# What a ``customer`` variable may read; contact data (phone, e-mail, push token) is the
# channel's address, never message text.
CUSTOMER_FIELDS = frozenset({"name", "branch", "customer_id"})
# What a ``job`` variable may read besides the job's own ``params``.
JOB_FIELDS = frozenset({"job_name", "sender_number", "department", "today"})

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Jinja's own names, refused by the template check: a variable cannot be called so.
_RESERVED = frozenset({"self", "loop", "caller", "super", "varargs", "kwargs"})

Mask = Literal["none", "name", "phone", "account", "card", "email"]


class VariableKind(StrEnum):
    CUSTOMER = "customer"
    JOB = "job"
    SHORT_URL = "short_url"
    FEEDBACK_URL = "feedback_url"
    PHRASE = "phrase"
    IMAGE = "image"


class VariableSpec(BaseModel):
    """One personalisation tag; ``field`` defaults to the variable's own name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: VariableKind
    field: str | None = None
    type: Literal["str", "int", "decimal", "date", "url"] = "str"
    required: bool = True
    max_length: int | None = Field(default=None, ge=1, le=10_000)
    default: str | None = None
    mask: Mask = "none"
    description: str | None = None
    target: str | None = None  # short_url: where the link leads
    occasion: str | None = None  # phrase: a fixed occasion instead of the job's or the season
    choices: dict[str, str] | None = None  # image: key -> image ref

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits and '_' (1-40), a letter first")
        if value in _RESERVED:
            raise ValueError(f"{value!r} is a name the template language reserves")
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> VariableSpec:
        source = self.source_field
        if self.kind is VariableKind.CUSTOMER and source not in CUSTOMER_FIELDS:
            raise ValueError(
                f"field: {source!r} is not a customer field ({', '.join(sorted(CUSTOMER_FIELDS))})"
            )
        if self.kind is VariableKind.SHORT_URL and not self.target:
            raise ValueError("target: a short_url variable needs the URL it leads to")
        if self.kind is VariableKind.IMAGE and not self.choices:
            raise ValueError("choices: an image variable needs at least one image ref")
        if self.default is not None and self.max_length and len(self.default) > self.max_length:
            raise ValueError(f"default: longer than max_length {self.max_length}")
        return self

    @property
    def source_field(self) -> str:
        return self.field or self.name

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True, exclude={"kind"}) | {
            "kind": self.kind.value
        }


# The variables of the first templates, declared by name only: a customer without a
# name is addressed as "고객" (customer), a missing branch is left out.
LEGACY_SPECS = {
    **{f: VariableSpec(name=f, kind=VariableKind.CUSTOMER) for f in sorted(CUSTOMER_FIELDS)},
    **{f: VariableSpec(name=f, kind=VariableKind.JOB) for f in sorted(JOB_FIELDS)},
    "name": VariableSpec(name="name", kind=VariableKind.CUSTOMER, default="고객"),
    "branch": VariableSpec(name="branch", kind=VariableKind.CUSTOMER, required=False),
}


def specs_from(stored: list[Any]) -> list[VariableSpec]:
    """The schema from a version's ``variables`` column: names or spec objects."""
    specs: list[VariableSpec] = []
    for i, item in enumerate(stored):
        if isinstance(item, str):
            if item not in LEGACY_SPECS:
                raise ValueError(f"variables[{i}]: {item!r} is not a known variable name")
            specs.append(LEGACY_SPECS[item])
        else:
            specs.append(VariableSpec.model_validate(item))
    return specs
