"""The file form of a content item (YAML or JSON): what ``ums content add`` reads and
``ums content export`` writes.

A file holds one item or a list of items. Errors name the file, the item (in a list)
and the field path (``offer.yaml: variants[2].body: ...``), never a raw pydantic dump.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ums_pipelines.channels.payload import Payload
from ums_pipelines.content.spec import LEGACY_SPECS, VariableSpec
from ums_pipelines.jobs import ChannelVariant
from ums_pipelines.lanes import Purpose

__all__ = [
    "SUFFIXES",
    "Channel",
    "ContentDocument",
    "DocumentError",
    "LoadedItem",
    "VariantDocument",
    "dump_document",
    "explain",
    "load_document",
    "load_documents",
    "read_items",
]

SUFFIXES = (".yaml", ".yml", ".json")
_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CONTENT_TYPE = r"^[a-z][a-z0-9_-]{0,31}$"
# What a reader of the file says for "authentication"; the store keeps Purpose's value.
_PURPOSE_ALIASES = {"authentication": Purpose.AUTH.value}
Channel = Literal["sms", "rcs", "alimtalk", "friendtalk", "brand", "push", "email", "dm"]


class DocumentError(ValueError):
    """A content file, or an item in it, that cannot be read; the message names where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class VariantDocument(_Strict):
    """One channel's variant; ``payload`` holds buttons, images, RCS/Kakao/push options."""

    channel: Channel
    subject: str | None = None
    body: str = Field(min_length=1)
    html_body: str | None = None
    provider_template_code: str | None = Field(default=None, min_length=1, max_length=64)
    payload: Payload = Field(default_factory=Payload)

    def to_variant(self) -> ChannelVariant:
        return ChannelVariant(
            channel=self.channel,
            body=self.body,
            subject=self.subject,
            html_body=self.html_body,
            provider_template_code=self.provider_template_code,
            payload=self.payload,
        )

    @classmethod
    def from_variant(cls, v: ChannelVariant) -> VariantDocument:
        return cls(
            channel=v.channel,
            subject=v.subject,
            body=v.body,
            html_body=v.html_body,
            provider_template_code=v.provider_template_code,
            payload=v.payload or Payload(),
        )


class ContentDocument(_Strict):
    """One content item: its attributes, its variable schema and a variant per channel."""

    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1, max_length=200)
    purpose: Purpose
    content_type: str | None = Field(default=None, pattern=_CONTENT_TYPE)
    department: str | None = Field(default=None, min_length=1, max_length=64)
    service_code: str | None = Field(default=None, min_length=1, max_length=32)
    tags: list[str] = Field(default_factory=list)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    approval_ids: dict[str, str] = Field(default_factory=dict)
    variables: list[VariableSpec] = Field(default_factory=list)
    variants: list[VariantDocument] = Field(min_length=1)

    @field_validator("purpose", mode="before")
    @classmethod
    def _purpose_alias(cls, value: Any) -> Any:
        return _PURPOSE_ALIASES.get(value, value) if isinstance(value, str) else value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for i, tag in enumerate(value):
            if not tag.strip() or len(tag) > 40:
                raise ValueError(f"[{i}] {tag!r}: a tag is 1-40 characters")
        if len(set(value)) != len(value):
            raise ValueError("a tag is given twice")
        return value

    @field_validator("variables", mode="before")
    @classmethod
    def _legacy_names(cls, value: Any) -> Any:
        # ``variables: [name, today]`` is short for the first templates' declarations.
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                if item not in LEGACY_SPECS:
                    raise ValueError(
                        f"[{i}] {item!r} is not a known variable name; declare it as"
                        " {name, kind, ...}"
                    )
                out.append(LEGACY_SPECS[item])
            else:
                out.append(item)
        return out

    @model_validator(mode="after")
    def _consistent(self) -> ContentDocument:
        names = [v.name for v in self.variables]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"variables: declared twice: {', '.join(twice)}")
        channels = [v.channel for v in self.variants]
        twice = sorted({c for c in channels if channels.count(c) > 1})
        if twice:
            raise ValueError(f"variants: a channel has two variants: {', '.join(twice)}")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until: not after valid_from")
        return self

    def channel_variants(self) -> list[ChannelVariant]:
        return [v.to_variant() for v in self.variants]

    def to_data(self, tz: Any = None) -> dict[str, Any]:
        """A lean plain form for files: no empty fields, variables and payloads as stored."""
        data = self.model_dump(
            mode="json",
            exclude_defaults=True,
            exclude={"valid_from", "valid_until", "variables", "variants"},
        )
        for key in ("valid_from", "valid_until"):
            value: datetime | None = getattr(self, key)
            if value is not None:
                data[key] = (value.astimezone(tz) if tz else value).isoformat()
        data["variables"] = [v.to_json() for v in self.variables]
        data["variants"] = [v.model_dump(mode="json", exclude_defaults=True) for v in self.variants]
        return data


@dataclass(frozen=True)
class LoadedItem:
    """One item of a file: its document, or why it could not be read."""

    label: str  # "offer.yaml" or "offer.yaml[2]"
    document: ContentDocument | None
    error: str | None


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _reason(err: Any) -> str:
    if err["type"] == "timezone_aware":
        return "has no time zone (give e.g. 2026-12-31T23:59:59+09:00)"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "missing":
        return "required"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def explain(exc: ValidationError) -> str:
    """Every problem as ``field.path: reason``, one per line."""
    lines = []
    for err in exc.errors():
        # Union and tagged branches add the branch name to the location: not the user's.
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        where = _path(loc)
        lines.append(f"{where}: {_reason(err)}" if where else _reason(err))
    return "; ".join(lines)


def _parse(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{path.name}: not a content file (give .yaml, .yml or .json)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path.name}: cannot be read: {exc}") from None
    try:
        return json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path.name}: line {exc.lineno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"{path.name}: {where}{problem}") from None


def read_items(path: Path) -> list[LoadedItem]:
    """Every item of a file, each read on its own: one bad item does not hide the others.

    A file that cannot be parsed at all raises ``DocumentError``.
    """
    data = _parse(path)
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list) or not items:
        raise DocumentError(f"{path.name}: holds no content item (give a mapping or a list)")
    loaded = []
    for i, item in enumerate(items):
        label = path.name if single else f"{path.name}[{i}]"
        if not isinstance(item, dict):
            loaded.append(LoadedItem(label, None, "an item is a mapping of fields"))
            continue
        try:
            loaded.append(LoadedItem(label, ContentDocument.model_validate(item), None))
        except ValidationError as exc:
            loaded.append(LoadedItem(label, None, explain(exc)))
    return loaded


def load_documents(path: Path | str) -> list[ContentDocument]:
    """Every item of a file; the first bad one raises ``DocumentError``."""
    docs = []
    for item in read_items(Path(path)):
        if item.document is None:
            raise DocumentError(f"{item.label}: {item.error}")
        docs.append(item.document)
    return docs


def load_document(path: Path | str) -> ContentDocument:
    """The one item of a file."""
    docs = load_documents(path)
    if len(docs) != 1:
        raise DocumentError(f"{Path(path).name}: holds {len(docs)} items, give a file of one")
    return docs[0]


class _Dumper(yaml.SafeDumper):
    """Multi-line texts (letters, e-mail HTML) as literal blocks, readable and diffable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_document(
    doc: ContentDocument | Sequence[ContentDocument], path: Path | str, tz: Any = None
) -> Path:
    """Write one item (or a list) as YAML or JSON by the file's suffix; times in ``tz``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{path.name}: give a .yaml, .yml or .json file to write")
    data: Any = (
        doc.to_data(tz) if isinstance(doc, ContentDocument) else [d.to_data(tz) for d in doc]
    )
    if suffix == ".json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DocumentError(f"{path.name}: cannot be written: {exc.strerror}") from None
    return path
