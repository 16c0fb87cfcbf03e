"""The staff directory: bank staff who may receive test sends (``UMS_STAFF_DIRECTORY``).

A YAML file (a list of entries, or ``staff:`` holding one) or a CSV file with a header,
each entry ``staff_id, name, department`` and at least one of ``phone, email,
push_token``. It is the only source of test-send recipients (see
:mod:`ums_pipelines.testsends`). Errors name the entry and field; values are masked.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ums_pipelines.masking import mask_text
from ums_pipelines.phones import InvalidPhone, normalize_kr_mobile
from ums_pipelines.settings import Settings

__all__ = ["Staff", "StaffDirectoryError", "contact_of", "load_staff"]

_ID = re.compile(r"^[A-Za-z0-9_-]{1,26}$")
_WHERE = "UMS_STAFF_DIRECTORY:"


class StaffDirectoryError(ValueError):
    """The directory is missing or invalid; the message names the entry and field."""


class Staff(BaseModel):
    """One staff member of the directory; fits :class:`~ums_pipelines.targets.Recipient`."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    staff_id: str
    name: str = Field(min_length=1, max_length=100)
    department: str = Field(min_length=1, max_length=64)
    phone: str | None = None
    email: str | None = Field(default=None, max_length=254)
    push_token: str | None = Field(default=None, max_length=255)

    @field_validator("staff_id")
    @classmethod
    def _staff_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be 1-26 characters of A-Z, a-z, 0-9, '_' or '-'")
        return value

    @field_validator("phone", "email", "push_token", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        try:
            return None if value is None else normalize_kr_mobile(value)
        except InvalidPhone as exc:
            raise ValueError(str(exc)) from None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise ValueError("not a valid e-mail address")
        return value

    @property
    def customer_id(self) -> str:
        return f"staff:{self.staff_id}"

    @property
    def branch(self) -> str:
        return self.department


def _entries(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return [dict(r) for r in csv.DictReader(io.StringIO(text))]
    data = yaml.safe_load(text)
    data = data.get("staff") if isinstance(data, dict) else data
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise StaffDirectoryError(
            f"UMS_STAFF_DIRECTORY: {path.name}: a list of staff entries needed"
        )
    return data


def load_staff(settings: Settings) -> dict[str, Staff]:
    """The validated staff directory by staff id; StaffDirectoryError names entry and field."""
    if settings.staff_directory is None:
        raise StaffDirectoryError("UMS_STAFF_DIRECTORY: not set; test recipients come only from it")
    path = settings.staff_directory
    path = path if path.is_absolute() else settings.resolved_home / path
    try:
        entries = _entries(path)
    except OSError as exc:
        raise StaffDirectoryError(
            f"UMS_STAFF_DIRECTORY: cannot read {path.name}: {exc.strerror}"
        ) from None
    except yaml.YAMLError:
        raise StaffDirectoryError(f"UMS_STAFF_DIRECTORY: {path.name} is not valid YAML") from None
    staff: dict[str, Staff] = {}
    for n, entry in enumerate(entries, start=1):
        try:
            member = Staff.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in error["loc"]) or "entry"
            raise StaffDirectoryError(
                mask_text(f"UMS_STAFF_DIRECTORY: entry {n}: {where}: {error['msg']}")
            ) from None
        if member.staff_id in staff:
            raise StaffDirectoryError(
                f"UMS_STAFF_DIRECTORY: entry {n}: staff_id {member.staff_id} twice"
            )
        if not (member.phone or member.email or member.push_token):
            raise StaffDirectoryError(
                f"UMS_STAFF_DIRECTORY: entry {n}: no phone, email or push_token"
            )
        staff[member.staff_id] = member
    return staff


def contact_of(member: Staff, channel: str) -> str | None:
    """The staff member's address on ``channel``; no letters go to staff."""
    if channel in ("sms", "rcs", "alimtalk", "friendtalk", "brand"):
        return member.phone
    if channel == "push":
        return member.push_token
    if channel == "email":
        return member.email
    return None
