"""The column contract of customer change files and the validated row model.

Semantics every source system relies on:

- ``None`` on a field of :class:`ChangeRow` means "no change". A column missing from the
  header and a blank cell both mean "no change"; a change file can never clear a stored
  name, phone, e-mail or push token (retiring a push token is the dispatcher's job, and
  erasing personal data is a separate, audited procedure).
- ``changed_at`` without an offset is Korea time (``Settings.timezone``); it is stored in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ums_pipelines.channels.international import destination
from ums_pipelines.lanes import CHANNELS as LANE_CHANNELS
from ums_pipelines.masking import mask_email, mask_text
from ums_pipelines.phones import InvalidPhone, normalize_kr_mobile

__all__ = [
    "CHANNELS",
    "CONSENT_COLUMNS",
    "CONSENT_PURPOSES",
    "FUTURE_TOLERANCE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ChangeRow",
    "FieldError",
    "HeaderCheck",
    "check_header",
    "known_column",
    "validate_row",
]

# Consents are kept per channel under the channel's own name (consent_rcs_info,
# consent_friendtalk_ad, consent_dm_info ...): RCS, FriendTalk, brand messages and letters
# are separate consents from SMS and AlimTalk, as the customer gave them.
CHANNELS = LANE_CHANNELS
CONSENT_PURPOSES = ("info", "ad", "night_ad")
REQUIRED_COLUMNS = ("customer_id", "changed_at")
OPTIONAL_COLUMNS = (
    "name",
    "phone",
    "email",
    "push_token",
    "push_platform",
    "preferred_channel",
    "branch",
    "deceased",
    # The last actual transaction and its kind of goods (advertising the same kind needs
    # no consent for 6 months after it): see docs/compliance.md.
    "last_transaction_at",
    "last_transaction_kind",
)
CONSENT_COLUMNS = tuple(f"consent_{c}_{p}" for c in CHANNELS for p in CONSENT_PURPOSES)
_KNOWN = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS + CONSENT_COLUMNS)
# A source clock a little ahead is tolerated; a far-future changed_at would otherwise
# block every later change of that customer for good.
FUTURE_TOLERANCE = timedelta(hours=1)

_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_KIND = re.compile(r"^[a-z0-9_-]{1,32}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)

Channel = Literal["sms", "alimtalk", "push", "email", "rcs", "friendtalk", "brand", "dm"]
PushPlatform = Literal["fcm", "apns"]


@dataclass(frozen=True)
class HeaderCheck:
    columns: tuple[str, ...]  # normalised header, in file order
    missing: tuple[str, ...]
    duplicates: tuple[str, ...]
    unknown: tuple[str, ...]


def check_header(header: list[str]) -> HeaderCheck:
    columns = tuple(h.strip().lower() for h in header)
    named = [c for c in columns if c]
    duplicates = tuple(sorted({c for c in named if named.count(c) > 1}))
    return HeaderCheck(
        columns=columns,
        missing=tuple(c for c in REQUIRED_COLUMNS if c not in columns),
        duplicates=duplicates,
        unknown=tuple(c for c in columns if c not in _KNOWN),
    )


def known_column(name: str) -> bool:
    """Whether ``name`` (lower case) is a column of the change-file contract."""
    return name in _KNOWN


def _flag(value: object) -> object:
    if isinstance(value, str):
        flag = value.strip().upper()
        if flag == "Y":
            return True
        if flag == "N":
            return False
        raise ValueError("must be Y or N")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]


class ChangeRow(BaseModel):
    """One validated line of a change file; ``None`` means "no change"."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    customer_id: str
    changed_at: datetime  # aware, UTC
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = None  # "01012345678"
    email: str | None = Field(default=None, max_length=254)
    push_token: str | None = Field(default=None, max_length=255)
    push_platform: PushPlatform | None = None  # the app's platform: FCM or APNs
    preferred_channel: Channel | None = None
    branch: str | None = Field(default=None, max_length=50)
    deceased: Flag | None = None
    last_transaction_at: datetime | None = None  # aware, UTC
    last_transaction_kind: str | None = None  # product kind code, e.g. "deposit"
    consents: dict[str, Flag] = Field(default_factory=dict)  # "consent_sms_info" -> granted

    @field_validator("customer_id", mode="before")
    @classmethod
    def _customer_id(cls, value: object) -> object:
        if isinstance(value, str) and not _CUSTOMER_ID.match(value.strip()):
            raise ValueError("must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-'")
        return value

    @field_validator("changed_at", "last_transaction_at", mode="before")
    @classmethod
    def _timestamp(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        try:
            # A date alone ("2024-05-01") is midnight of that day, Korea time.
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not an ISO-8601 date or date-time") from None
        context = info.context or {}
        if parsed.tzinfo is None:
            zone: tzinfo = context.get("tz", UTC)
            parsed = parsed.replace(tzinfo=zone)
        parsed = parsed.astimezone(UTC)
        now: datetime | None = context.get("now")
        if now is not None and parsed > now + FUTURE_TOLERANCE:
            raise ValueError("in the future")
        return parsed

    @field_validator("last_transaction_kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        if isinstance(value, str):
            kind = value.strip().lower()
            if not _KIND.match(kind):
                raise ValueError("must be a code of 1-32 characters of a-z, 0-9, '_' or '-'")
            return kind
        return value

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return normalize_kr_mobile(value)
            except InvalidPhone as exc:
                # A customer abroad keeps a foreign mobile, written with its + prefix;
                # it is stored in E.164 and reached by international SMS only.
                if value.strip().startswith("+") and not value.strip().startswith("+82"):
                    abroad = destination(value)
                    if abroad is not None:
                        return abroad[0]
                raise ValueError(str(exc)) from None
        return value

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> object:
        if isinstance(value, str):
            address = value.strip()
            if not _EMAIL.match(address):
                raise ValueError(f"not a valid e-mail address ({mask_email(address)})")
            local, _, domain = address.rpartition("@")
            return f"{local}@{domain.lower()}"
        return value

    @field_validator("push_platform", mode="before")
    @classmethod
    def _platform(cls, value: object) -> object:
        if isinstance(value, str):
            platform = value.strip().lower()
            if platform not in ("fcm", "apns"):
                raise ValueError("must be fcm or apns")
            return platform
        return value

    @field_validator("preferred_channel", mode="before")
    @classmethod
    def _channel(cls, value: object) -> object:
        if isinstance(value, str):
            channel = value.strip().lower()
            if channel not in CHANNELS:
                raise ValueError(f"must be one of {', '.join(CHANNELS)}")
            return channel
        return value


@dataclass(frozen=True)
class FieldError:
    field: str | None
    reason: str


def _field_of(loc: tuple[int | str, ...]) -> str:
    # Consent flags live in one dict field; report the file's column name instead.
    if len(loc) >= 2 and loc[0] == "consents":
        return str(loc[1])
    return str(loc[0]) if loc else "row"


def _reason(field: str, error: Mapping[str, Any]) -> str:
    if error["type"] == "value_error":
        message = str(error["ctx"]["error"])
    elif error["type"] == "missing":
        message = "required"
    else:
        message = str(error["msg"])
    # Validators already mask their own messages; this is the net under them.
    return mask_text(f"{field}: {message}")


def validate_row(
    cells: Mapping[str, str], *, tz: tzinfo, now: datetime | None = None
) -> ChangeRow | list[FieldError]:
    """Validate one row (known columns only) into a :class:`ChangeRow` or its field errors.

    Blank cells are dropped before validation: they mean "no change".
    """
    data: dict[str, Any] = {}
    consents: dict[str, str] = {}
    for column, value in cells.items():
        if not value.strip():
            continue
        if column.startswith("consent_"):
            consents[column] = value
        else:
            data[column] = value
    if consents:
        data["consents"] = consents
    try:
        return ChangeRow.model_validate(data, context={"tz": tz, "now": now})
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False, include_input=False):
            field = _field_of(error["loc"])
            errors.append(FieldError(field, _reason(field, error)))
        return errors
