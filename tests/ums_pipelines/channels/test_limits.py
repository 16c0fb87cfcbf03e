"""The limits of shared/DOMAIN.md as defaults, and per-provider overrides."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from pydantic import ValidationError

from ums_pipelines.channels.checks import check_message
from ums_pipelines.channels.limits import KB, MB, ChannelLimits

LIMITS = ChannelLimits()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (LIMITS.sms.sms_max_bytes, 90),
        (LIMITS.sms.lms_max_bytes, 2000),
        (LIMITS.sms.subject_max_bytes, 40),
        (LIMITS.sms.mms_max_images, 3),
        (LIMITS.sms.mms_image_max_bytes, 300 * 1024),
        (LIMITS.sms.mms_image_types, ("image/jpeg",)),
        ((LIMITS.sms.mms_max_width, LIMITS.sms.mms_max_height), (1000, 1000)),
        (LIMITS.intl_sms.max_bytes, 1000),
        (LIMITS.alimtalk.max_chars, 1000),
        (LIMITS.alimtalk.max_variables, 30),
        (LIMITS.alimtalk.max_buttons, 5),
        (LIMITS.alimtalk.purposes, ("info", "auth")),
        (LIMITS.buttons.name_max_chars, 14),
        (
            LIMITS.friendtalk.types["TEXT"].model_dump(),
            {"max_chars": 1000, "max_buttons": 5, "images": 0},
        ),
        (
            LIMITS.friendtalk.types["IMAGE"].model_dump(),
            {"max_chars": 400, "max_buttons": 5, "images": 1},
        ),
        (
            LIMITS.friendtalk.types["WIDE"].model_dump(),
            {"max_chars": 76, "max_buttons": 1, "images": 1},
        ),
        (LIMITS.friendtalk.purposes, ("ad",)),
        ((LIMITS.friendtalk.quiet_from, LIMITS.friendtalk.quiet_until), (time(20), time(8))),
        (LIMITS.brand.purposes, ("ad",)),
        (LIMITS.brand.needs_080, True),
        (LIMITS.friendtalk.needs_080, False),
        (LIMITS.rcs.sms_max_chars, 100),
        (LIMITS.rcs.lms_max_chars, 1300),
        (LIMITS.rcs.image_types, ("image/jpeg", "image/png", "image/gif", "image/bmp")),
        (LIMITS.rcs.image_max_bytes, 1024 * 1024),
        (LIMITS.rcs.banned_sender_prefixes, ("010",)),
        (LIMITS.push.fcm_max_bytes, 4096),
        (LIMITS.push.apns_max_bytes, 4096),
        (LIMITS.email.attachments_max_bytes, 30 * 1024 * 1024),
        (LIMITS.dm.postcode_digits, 5),
        ((LIMITS.sender.min_digits, LIMITS.sender.max_digits), (8, 11)),
        (LIMITS.ad.label, "(광고)"),
    ],
)
def test_defaults_are_the_domain_values(value: Any, expected: Any) -> None:
    assert value == expected


@pytest.mark.parametrize(
    "ext", ["exe", "js", "vbs", "bat", "cmd", "scr", "jar", "msi", "sh", "ps1", "com", "pif"]
)
def test_executables_blocked_by_default(ext: str) -> None:
    assert ext in LIMITS.email.blocked_extensions


def test_relays_differ_in_mms_pixels() -> None:
    relay_b = LIMITS.merged({"sms": {"mms_max_width": 1500, "mms_max_height": 1440}})
    assert (relay_b.sms.mms_max_width, relay_b.sms.mms_max_height) == (1500, 1440)
    assert relay_b.sms.sms_max_bytes == 90  # the rest of the section is kept
    assert (LIMITS.sms.mms_max_width, LIMITS.sms.mms_max_height) == (1000, 1000)  # unchanged


def test_partial_override_of_one_kakao_type() -> None:
    limits = LIMITS.merged({"friendtalk": {"types": {"WIDE": {"max_chars": 80}}}})
    assert limits.friendtalk.types["WIDE"].model_dump() == {
        "max_chars": 80,
        "max_buttons": 1,
        "images": 1,
    }
    assert limits.friendtalk.types["TEXT"].max_chars == 1000
    assert (
        check_message(
            "friendtalk", "가" * 80, payload={"kakao_type": "WIDE", "images": []}, limits=limits
        )
        .violations[0]
        .code
        == "IMAGE_MISSING"
    )


def test_overrides_drive_the_checks() -> None:
    limits = LIMITS.merged(
        {
            "sms": {"lms_max_bytes": 1000},
            "email": {"attachments_max_bytes": 5 * MB, "blocked_extensions": [".ZIP"]},
            "push": {"fcm_max_bytes": 2048},
        }
    )
    assert limits.email.blocked_extensions == ("zip",)  # normalised
    assert not check_message("lms", "a" * 1001, limits=limits).ok
    assert check_message("lms", "a" * 1001).ok
    zipped = {
        "attachments": [
            {"ref": "r", "filename": "a.zip", "content_type": "application/zip", "size_bytes": 1}
        ]
    }
    assert not check_message("email", "본문", payload=zipped, limits=limits).ok
    assert check_message("email", "본문", payload=zipped).ok
    assert not check_message("push", "a" * 2000, limits=limits).ok
    assert check_message("push", "a" * 2000).ok


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sms": {"mms_max_widht": 1500}}, "mms_max_widht"),  # a typo is not a silent default
        ({"smss": {}}, "smss"),
        ({"sms": {"sms_max_bytes": 0}}, "sms_max_bytes"),
        ({"intl_sms": {"encoding": "latin-1"}}, "encoding"),
        ({"ad": {"optout_pattern": "080-("}}, "optout_pattern"),
    ],
)
def test_bad_overrides_are_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        LIMITS.merged(overrides)


def test_units() -> None:
    assert (KB, MB) == (1024, 1024 * 1024)


def test_limits_are_frozen() -> None:
    with pytest.raises(ValidationError):
        LIMITS.sms.sms_max_bytes = 100  # type: ignore[misc]
