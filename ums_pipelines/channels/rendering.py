"""A payload's template tags rendered per recipient, and the message type a leg is sent as.

The same sandboxed renderer as the body fills every payload string a template may
personalise (button names and links, image links, RCS/AlimTalk variables, push data, the
DM envelope); references, sizes and types are not templated. Registration checks those
same strings (``templated_strings``), so what renders here was declared and whitelisted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ums_pipelines.channels.encoding import sms_type_for
from ums_pipelines.channels.payload import Payload

__all__ = [
    "FRIENDTALK_TYPES",
    "TEMPLATED_BUTTON_FIELDS",
    "message_type_for",
    "render_payload",
    "templated_strings",
]

TEMPLATED_BUTTON_FIELDS = ("name", "url_mobile", "url_pc", "scheme_android", "scheme_ios", "phone")
_DM_FIELDS = ("postcode", "address", "address_detail", "name")
FRIENDTALK_TYPES = ("TEXT", "IMAGE", "WIDE")
# RCS SMS type carries 100 characters; longer text without an explicit type is an LMS.
_RCS_SMS_CHARS = 100

_Fn = Callable[[str, str], str]


def _map_dict(data: dict[str, Any], path: str, fn: _Fn) -> None:
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = fn(f"{path}.{key}", value)


def _map(data: dict[str, Any], fn: _Fn) -> None:
    """Apply ``fn(path, text)`` to every templated string of a dumped payload, in place."""
    for i, button in enumerate(data.get("buttons", [])):
        for name in TEMPLATED_BUTTON_FIELDS:
            if isinstance(button.get(name), str):
                button[name] = fn(f"buttons[{i}].{name}", button[name])
    for i, image in enumerate(data.get("images", [])):
        if isinstance(image.get("link"), str):
            image["link"] = fn(f"images[{i}].link", image["link"])
    _map_dict(data.get("variables", {}), "variables", fn)
    if data.get("rcs"):
        _map_dict(data["rcs"].get("template_variables", {}), "rcs.template_variables", fn)
    if data.get("push"):
        _map_dict(data["push"].get("data", {}), "push.data", fn)
    if data.get("dm"):
        for name in _DM_FIELDS:
            if isinstance(data["dm"].get(name), str):
                data["dm"][name] = fn(f"dm.{name}", data["dm"][name])


def templated_strings(payload: Payload) -> Iterator[tuple[str, str]]:
    """Every string of the payload that may hold template tags, as (field path, text)."""
    found: list[tuple[str, str]] = []

    def collect(path: str, text: str) -> str:
        found.append((path, text))
        return text

    _map(payload.model_dump(), collect)
    return iter(found)


def render_payload(payload: Payload, render: _Fn) -> Payload:
    """The payload with each templated string passed through ``render(path, source)``.

    Strings without a tag are left as they are (most links and names are literal).
    """
    data = payload.model_dump()

    def one(path: str, text: str) -> str:
        return render(path, text) if "{" in text else text

    _map(data, one)
    return Payload.model_validate(data)


def message_type_for(
    channel: str,
    body: str,
    subject: str | None,
    payload: Payload | None,
    push_platform: str | None = None,
) -> str:
    """The provider message type of a rendered leg; ``ValueError`` names what is wrong.

    SMS is promoted to LMS by size or subject and to MMS by images; RCS and FriendTalk
    take the type their payload declares (RCS without options: the smallest that fits,
    as ``checks.rcs.rcs_message_type`` decides); push
    goes by the customer's platform, FCM unless it is APNs.
    """
    if channel == "sms":
        kind = sms_type_for(body, subject)
        return "MMS" if payload is not None and payload.images else kind
    if channel == "rcs":
        if payload is not None and payload.rcs is not None:
            return f"RCS_{payload.rcs.rcs_type}"
        if payload is not None and payload.images:
            return "RCS_MMS"
        return "RCS_SMS" if len(body) <= _RCS_SMS_CHARS and not subject else "RCS_LMS"
    if channel == "friendtalk":
        declared = payload.kakao_type if payload is not None else None
        if declared is None:
            declared = "IMAGE" if payload is not None and payload.images else "TEXT"
        if declared not in FRIENDTALK_TYPES:
            raise ValueError(
                f"payload.kakao_type: {declared!r} is not a FriendTalk type "
                f"({', '.join(FRIENDTALK_TYPES)})"
            )
        return f"FRIENDTALK_{declared}"
    if channel == "push":
        return "APNS" if (push_platform or "fcm").lower() == "apns" else "FCM"
    fixed = {"alimtalk": "ALIMTALK", "brand": "BRAND", "email": "EMAIL", "dm": "DM"}
    if channel not in fixed:
        raise ValueError(f"channel: unknown channel {channel!r}")
    return fixed[channel]
