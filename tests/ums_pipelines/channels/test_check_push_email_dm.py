"""Push (4 KB of wire JSON), e-mail (30 MB, executables) and DM letters (envelope)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import httpx
import pytest

from ums_pipelines.channels.checks import (
    CheckResult,
    apns_payload,
    check_message,
    executable_reason,
    fcm_message,
    push_wire_size,
)
from ums_pipelines.channels.checks.push import KEY_RESERVE
from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.limits import MB, ChannelLimits
from ums_pipelines.channels.payload import Attachment, DmLetter, Payload, PushOptions

KEY = "k" * KEY_RESERVE
Platform = Literal["fcm", "apns"]
BLOCKED = ChannelLimits().email.blocked_extensions


def codes(result: CheckResult) -> list[str]:
    return [v.code for v in result.violations]


# --- push ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("platform", "kind"), [("fcm", "FCM"), ("apns", "APNS")])
@pytest.mark.parametrize(("delta", "ok"), [(0, True), (-1, True), (1, False)])
def test_push_payload_4096_bytes_on_the_wire(
    platform: Platform, kind: str, delta: int, ok: bool
) -> None:
    options = PushOptions(data={"screen": "deposit"}, badge=1, sound="ding")
    payload = Payload(push=options)
    empty = push_wire_size(platform, "입금", "", options, key=KEY)
    body = "a" * (4096 - empty + delta)
    assert push_wire_size(platform, "입금", body, options, key=KEY) == 4096 + delta
    result = check_message("push", body, subject="입금", payload=payload, push_platform=platform)
    assert result.message_type == kind
    assert result.ok is ok
    if not ok:
        name = "FCM" if platform == "fcm" else "APNs"
        assert codes(result) == ["PUSH_TOO_LARGE"]
        assert result.violations[0].message == (
            f"payload: 4,097 bytes as {name} JSON, {name} takes 4,096 at most"
        )


@pytest.mark.parametrize("platform", ["fcm", "apns"])
def test_hangul_is_3_bytes_in_push_json_not_an_escape(platform: Platform) -> None:
    base = push_wire_size(platform, "", "", key=KEY)
    assert push_wire_size(platform, "", "가" * 100, key=KEY) == base + 300
    fits = (4096 - base) // 3  # Hangul characters that fit beside the JSON around them
    assert check_message("push", "가" * fits, push_platform=platform).ok
    assert not check_message("push", "가" * (fits + 1), push_platform=platform).ok
    assert check_message("push", "a" * (fits + 1), push_platform=platform).ok


def test_wire_size_is_what_httpx_sends() -> None:
    options = PushOptions(data={"계좌": "입금"}, collapse_key="dep", ttl_s=600, sound="ding")
    message = fcm_message("입금 알림", "1,000원 입금", options, key=KEY, urgent=False)
    sent = httpx.Request("POST", "http://fcm.test/v1", json={"message": message}).content
    wire = len(sent) - len(b'{"message":}')
    # The check's size is at least what goes out (it assumes the longest label/expiry).
    assert push_wire_size("fcm", "입금 알림", "1,000원 입금", options, key=KEY) >= wire
    labelled = fcm_message(
        "입금 알림",
        "1,000원 입금",
        options,
        key=KEY,
        analytics_label="l" * 50,
        expires_at=9_999_999_999,
    )
    sent = httpx.Request("POST", "http://fcm.test/v1", json={"message": labelled}).content
    assert push_wire_size("fcm", "입금 알림", "1,000원 입금", options, key=KEY) == len(sent) - 12


def test_push_json_shapes() -> None:
    options = PushOptions(data={"screen": "home", "aps": "x"}, badge=3)
    payload = apns_payload("제목", "본문", options, key="K1")
    assert payload == {
        "screen": "home",
        "aps": {"alert": {"title": "제목", "body": "본문"}, "badge": 3, "sound": "default"},
        "ums_key": "K1",
    }
    message = fcm_message("제목", "본문", options, token="tok", key="K1", urgent=True)
    assert message["token"] == "tok"
    assert message["notification"] == {"title": "제목", "body": "본문"}
    assert message["data"] == {"screen": "home", "aps": "x", "ums_key": "K1"}
    assert message["android"] == {"priority": "HIGH", "notification": {"notification_count": 3}}
    assert message["apns"]["headers"] == {"apns-priority": "10"}
    json.dumps(message)  # serialisable as is


def test_push_data_counts_towards_the_limit() -> None:
    big = PushOptions(data={"blob": "x" * 4000})
    assert check_message("push", "입금", payload=Payload(push=big)).ok is False
    assert check_message("push", "입금", payload=Payload(push=PushOptions())).ok


def test_unknown_push_platform_is_bad_input() -> None:
    with pytest.raises(ValueError, match="push_platform"):
        check_message("push", "입금", push_platform="wns")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("subject", "text", "ok"),
    [
        ("(광고) 혜택", "적금 안내", True),
        ("혜택", "(광고) 적금 안내", True),
        ("[광고] 혜택", "적금 안내", False),
        (None, "적금 안내", False),
    ],
)
def test_advertising_push_is_labelled(subject: str | None, text: str, ok: bool) -> None:
    result = check_message("push", text, subject=subject, purpose="ad")
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["AD_LABEL_MISSING"]


def test_push_carries_no_attachments() -> None:
    attachment = Attachment(
        ref="a.pdf", filename="a.pdf", content_type="application/pdf", size_bytes=1
    )
    result = check_message("push", "입금", payload=Payload(attachments=[attachment]))
    assert codes(result) == ["PART_NOT_ALLOWED"]


# --- e-mail -------------------------------------------------------------------------------


def attachment(name: str, size: int = 1000, content_type: str = "application/pdf") -> Attachment:
    return Attachment(ref=f"{name}.ref", filename=name, content_type=content_type, size_bytes=size)


@pytest.mark.parametrize(
    ("sizes", "ok"),
    [
        ([30 * MB], True),  # at
        ([20 * MB, 10 * MB], True),  # at, in two files
        ([30 * MB - 1], True),  # under
        ([20 * MB, 10 * MB + 1], False),  # over, in all
        ([30 * MB + 1], False),
    ],
)
def test_email_attachments_30_mb_in_all(sizes: list[int], ok: bool) -> None:
    parts = [attachment(f"statement{i}.pdf", size) for i, size in enumerate(sizes)]
    result = check_message("email", "명세서를 보내드립니다.", payload=Payload(attachments=parts))
    assert result.message_type == "EMAIL"
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["ATTACHMENTS_TOO_LARGE"]
        assert result.violations[0].message == (
            "attachments: 31,457,281 bytes in all, an e-mail takes 31,457,280 at most"
        )


def test_email_attachment_cap_is_per_provider() -> None:
    limits = ChannelLimits().merged({"email": {"attachments_max_bytes": 10 * MB}})
    payload = Payload(attachments=[attachment("a.pdf", 10 * MB + 1)])
    assert codes(check_message("email", "본문", payload=payload, limits=limits)) == [
        "ATTACHMENTS_TOO_LARGE"
    ]


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe",
        "SETUP.EXE",
        "invoice.pdf.exe",
        "run.js",
        "macro.vbs",
        "install.bat",
        "install.cmd",
        "screen.scr",
        "app.jar",
        "setup.msi",
        "script.ps1",
        "deploy.sh",
        "page.hta",
        "link.lnk",
        "trailing.exe.",
    ],
)
def test_executables_are_blocked_by_extension(name: str) -> None:
    result = check_message("email", "본문", payload=Payload(attachments=[attachment(name)]))
    assert codes(result) == ["ATTACHMENT_BLOCKED"]
    assert result.violations[0].message.startswith("attachments[0]: .")


@pytest.mark.parametrize(
    "name", ["statement.pdf", "report.xlsx", "letter.docx", "photo.jpg", "data.csv", "a.exe.pdf"]
)
def test_documents_are_not_blocked(name: str) -> None:
    assert check_message("email", "본문", payload=Payload(attachments=[attachment(name)])).ok


def test_executable_content_types_are_blocked() -> None:
    part = attachment("update.dat", content_type="application/x-msdownload")
    result = check_message("email", "본문", payload=Payload(attachments=[part]))
    assert codes(result) == ["ATTACHMENT_BLOCKED"]


@pytest.mark.parametrize(
    ("data", "blocked"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00rest of a PE file", True),
        (b"\x7fELF\x02\x01\x01\x00", True),
        (b"#!/bin/sh\nrm -rf /\n", True),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", True),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34", True),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", False),
        (b"\x89PNG\r\n\x1a\n", False),
        (b"PK\x03\x04 an xlsx", False),
        (b"M", False),  # too short to be anything
    ],
)
def test_executables_are_blocked_by_their_first_bytes(
    tmp_path: Path, data: bytes, blocked: bool
) -> None:
    store = ContentStore(tmp_path)
    part = store.put_attachment(data, "statement.pdf", "application/pdf")
    payload = Payload(attachments=[part])
    result = check_message("email", "본문", payload=payload, read_content=store.get)
    assert codes(result) == (["ATTACHMENT_BLOCKED"] if blocked else [])
    if blocked:
        assert "whatever its name" in result.violations[0].message
    # Without the bytes only the name and type are known.
    assert check_message("email", "본문", payload=payload).ok


def test_unreadable_attachment_content(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    part = Attachment(
        ref="0" * 64 + ".pdf", filename="a.pdf", content_type="application/pdf", size_bytes=3
    )
    result = check_message(
        "email", "본문", payload=Payload(attachments=[part]), read_content=store.get
    )
    assert codes(result) == ["ATTACHMENT_UNREADABLE"]


def test_executable_reason_directly() -> None:
    assert executable_reason("a.pdf", "application/pdf", b"%PDF", BLOCKED) is None
    assert executable_reason("a.PIF", "application/pdf", None, BLOCKED) is not None


@pytest.mark.parametrize(
    ("subject", "ok"), [("(광고) 6월 혜택", True), ("6월 혜택 (광고)", False), (None, False)]
)
def test_advertising_email_labels_its_subject(subject: str | None, ok: bool) -> None:
    result = check_message("email", "혜택 안내", subject=subject, purpose="ad")
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["AD_LABEL_MISSING"]
        assert result.violations[0].message.startswith("subject:")


def test_email_carries_unicode() -> None:
    assert check_message("email", "명세서 📄 สวัสดี", subject="안내 😀").ok


# --- DM -----------------------------------------------------------------------------------


def letter(postcode: str = "06236", address: str = "서울특별시 강남구 테헤란로 1") -> Payload:
    return Payload(dm=DmLetter(postcode=postcode, address=address, name="홍길동"))


@pytest.mark.parametrize(
    ("postcode", "ok"),
    [
        ("06236", True),  # at: 5 digits
        ("0623", False),  # under
        ("062360", False),  # over
        ("135-080", False),  # the old six-digit form
        ("0623a", False),
        ("０６２３６", False),  # full-width digits
    ],
)
def test_dm_postcode_5_digits(postcode: str, ok: bool) -> None:
    result = check_message("dm", "안내문", payload=letter(postcode=postcode))
    assert result.message_type == "DM"
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["DM_POSTCODE"]
        assert result.violations[0].message.startswith("dm.postcode:")


def test_dm_postcode_length_is_configurable() -> None:
    limits = ChannelLimits().merged({"dm": {"postcode_digits": 6}})
    assert check_message("dm", "안내문", payload=letter(postcode="135080"), limits=limits).ok


@pytest.mark.parametrize(
    ("address", "ok"), [("서울 중구 세종대로 110", True), ("", False), ("  ", False)]
)
def test_dm_address_present(address: str, ok: bool) -> None:
    result = check_message("dm", "안내문", payload=letter(address=address))
    assert result.ok is ok
    if not ok:
        assert codes(result) == ["DM_ADDRESS"]


def test_dm_envelope() -> None:
    assert codes(check_message("dm", "안내문", payload=Payload())) == ["DM_ENVELOPE_MISSING"]
    assert check_message("dm", "안내문").ok  # a template: no recipient yet


def test_dm_print_file_is_euc_kr() -> None:
    assert codes(check_message("dm", "안내문 😀", payload=letter())) == ["NOT_CP949"]
    assert check_message("dm", "안내문 ☎ ※", payload=letter()).ok


@pytest.mark.parametrize("channel", ["push", "email", "dm", "alimtalk", "rcs"])
def test_bytes_are_utf8_outside_the_sms_family(channel: str) -> None:
    assert check_message(channel, "입금 a").bytes == len("입금 a".encode())
