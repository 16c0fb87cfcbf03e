"""The parts of a message beyond its text, one shape for every channel.

A template version stores a ``Payload`` (with template tags in its strings), compose
renders it per recipient into ``messages.payload``, the channel checks validate it, and
each provider adapter turns it into its own wire format. Binary parts (images,
attachments) are carried by reference to a content-addressed file under ``UMS_HOME``,
never inline in the outbox row: a 1,000,000-message MMS job must not store its image a
million times.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CHANNELS",
    "Attachment",
    "Button",
    "DmLetter",
    "Image",
    "Payload",
    "PushOptions",
    "RcsOptions",
]

# Every channel name the platform knows; ``sms`` covers SMS/LMS/MMS (the type is decided
# by the content), ``push`` covers FCM and APNs (decided by the customer's platform).
CHANNELS = ("sms", "rcs", "alimtalk", "friendtalk", "brand", "push", "email", "dm")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Button(_Part):
    """A Kakao/RCS button. Kakao types: WL web link, AL app link, BK bot keyword,
    MD message delivery, DS delivery search, BC bot to consultant, BT bot transfer,
    AC add channel. RCS uses ``openUrl``/``dial``/``copy``-style actions in ``type``."""

    type: str
    name: str
    url_mobile: str | None = None
    url_pc: str | None = None
    scheme_android: str | None = None
    scheme_ios: str | None = None
    phone: str | None = None  # RCS dial action


class Image(_Part):
    """An image of an MMS, RCS, FriendTalk/brand or e-mail message; ``ref`` is the
    content-addressed file name (sha256 + extension) under ``UMS_HOME/content``."""

    ref: str
    content_type: str  # image/jpeg, image/png, image/gif, image/bmp
    size_bytes: int = Field(ge=0)
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    link: str | None = None  # where a tap on the image leads (FriendTalk/brand/RCS)


class Attachment(_Part):
    """An e-mail attachment, by reference like an image."""

    ref: str
    filename: str
    content_type: str
    size_bytes: int = Field(ge=0)


class RcsOptions(_Part):
    """RCS Biz Center: the message base (``SMS``/``LMS``/``MMS``/``TEMPLATE``), the brand
    and chatbot the message is sent from, and the approved template for ``TEMPLATE``."""

    rcs_type: Literal["SMS", "LMS", "MMS", "TEMPLATE"] = "SMS"
    brand_id: str | None = None
    chatbot_id: str | None = None
    message_base_id: str | None = None
    template_variables: dict[str, str] = Field(default_factory=dict)


class PushOptions(_Part):
    """What FCM and APNs carry besides title and body."""

    data: dict[str, str] = Field(default_factory=dict)
    badge: int | None = None
    sound: str | None = None
    collapse_key: str | None = None
    ttl_s: int | None = None


class DmLetter(_Part):
    """A paper letter's envelope; the letter text is the message body."""

    postcode: str
    address: str
    address_detail: str | None = None
    # The addressee as printed on the envelope (usually "{{ name }}" in the template).
    name: str | None = None


class Payload(_Part):
    """Everything optional: a plain SMS has an empty payload (stored as NULL)."""

    buttons: list[Button] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    # FriendTalk/brand message type: TEXT, IMAGE, WIDE (brand adds e.g. WIDE_ITEM_LIST).
    kakao_type: str | None = None
    rcs: RcsOptions | None = None
    push: PushOptions | None = None
    dm: DmLetter | None = None
    # Template variables of an AlimTalk/RCS template, as approved (name -> rendered value).
    variables: dict[str, str] = Field(default_factory=dict)
    # An advertising e-mail's one-click unsubscribe address (RFC 8058), set at compose.
    list_unsubscribe: str | None = None

    def to_json(self) -> dict[str, Any] | None:
        """The column value: NULL for an empty payload, so plain texts stay lean."""
        data = self.model_dump(exclude_defaults=True)
        return data or None

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Payload:
        return cls.model_validate(value or {})
