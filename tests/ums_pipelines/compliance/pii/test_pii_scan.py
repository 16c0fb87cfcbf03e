"""scan_text / scan_content: overlaps, offsets, template tags and masked renderings."""

from __future__ import annotations

from ums_pipelines.compliance.pii import Finding, mask_value, scan_content, scan_text


def test_offsets_point_at_the_values() -> None:
    text = "성명 홍길동, 주민번호 900101-1234567, 연락처 010-1234-5678, 메일 kim@example.com"
    findings = scan_text(text)
    assert [(f.type, text[f.start : f.end]) for f in findings] == [
        ("KR_RRN", "900101-1234567"),
        ("PHONE", "010-1234-5678"),
        ("EMAIL", "kim@example.com"),
    ]
    assert all(text[f.start : f.end] == f.text for f in findings)


def test_one_finding_per_span_by_priority() -> None:
    # An RRN-shaped 13-digit run is also a Luhn-valid Visa number; the RRN wins.
    assert scan_text("번호 4501011234560")[0].type == "KR_RRN"
    # Digits that form a phone number inside an address belong to the address.
    [finding] = scan_text("01012345678@naver.com")
    assert finding.type == "EMAIL"


def test_finding_repr_and_masked_never_show_the_value() -> None:
    [finding] = scan_text("주민번호 900101-1234567")
    assert finding.masked == "900101-1******"
    assert "1234567" not in repr(finding)
    assert "1234567" not in str(finding)


def test_masked_forms() -> None:
    assert mask_value("KR_RRN", "9001011234567") == "900101-1******"
    assert mask_value("KR_FRN", "900101-5234567") == "900101-5******"
    assert mask_value("CARD", "4111-1111-1111-1111") == "****-****-****-1111"
    assert mask_value("CARD", "4111111111111111") == "************1111"
    assert mask_value("ACCOUNT", "110-123-456789") == "***-***-**6789"
    assert mask_value("PHONE", "010-1234-5678") == "010-****-5678"
    assert mask_value("PHONE", "+82 10 1234 5678") == "010-****-5678"
    assert mask_value("EMAIL", "kim.minsu@example.com") == "k***@example.com"
    assert mask_value("PASSPORT", "M12345678") == "M********"
    assert mask_value("DRIVER_LICENSE", "11-12-345678-90") == "11-**-******-**"
    assert mask_value("KR_BRN", "214-87-98889") == "214-87-*****"


def test_masks_never_reveal_more_than_half() -> None:
    for pii_type in ("CARD", "ACCOUNT", "KR_BRN", "PASSPORT", "DRIVER_LICENSE"):
        masked = mask_value(pii_type, "12345678")
        assert masked.count("*") >= 4


def test_scan_content_reports_the_field() -> None:
    fields = {
        "variants[sms].body": "{{ customer.name }}님, 문의는 010-1234-5678 으로 주세요.",
        "variants[email].subject": "{{ customer.name }}님 {{ customer.email }} 안내",
        "variants[email].body": "환불 계좌 110-123-456789 (예금주 김민수)",
    }
    found = scan_content(fields)
    assert [(f.field, f.finding.type) for f in found] == [
        ("variants[sms].body", "PHONE"),
        ("variants[email].body", "ACCOUNT"),
    ]
    start = fields["variants[sms].body"].index("010-")
    assert found[0].as_dict() == {
        "field": "variants[sms].body",
        "type": "PHONE",
        "start": start,
        "end": start + 13,
        "masked": "010-****-5678",
    }


def test_template_tags_are_not_pii_but_literal_defaults_are() -> None:
    assert scan_text("{{ rrn }} {{ card_no }} {{ customer.phone }} {{ account }}") == []
    [finding] = scan_text('{{ phone | default("010-1234-5678") }}')
    assert isinstance(finding, Finding) and finding.type == "PHONE"


def test_negatives_in_a_message() -> None:
    text = (
        "[UMS은행] 2026-11-26 14:30 결제 1,234,567원 승인(승인번호 12345678). "
        "주문번호 20261126-0001234, 운송장 123456789012, 앱 버전 3.12.1, 우편번호 04524. "
        "문의 1588-9999"
    )
    assert scan_text(text) == []


def test_resolve_overlaps_by_priority_then_length() -> None:
    from ums_pipelines.compliance.pii.findings import resolve_overlaps

    phone = Finding("PHONE", 10, 23, "x" * 13)
    rrn = Finding("KR_RRN", 12, 26, "x" * 14)  # overlaps the phone, higher priority
    touching = Finding("EMAIL", 26, 40, "x" * 14)  # starts where the RRN ends
    short_card = Finding("CARD", 30, 35, "x" * 5)  # inside the e-mail address
    account = Finding("ACCOUNT", 0, 10, "x" * 10)  # ends where the phone starts
    kept = resolve_overlaps([phone, short_card, account, rrn, touching])
    assert [(f.type, f.start) for f in kept] == [("ACCOUNT", 0), ("KR_RRN", 12), ("EMAIL", 26)]
