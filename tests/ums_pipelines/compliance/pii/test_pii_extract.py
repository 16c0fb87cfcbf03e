"""Text extraction from text, CSV (UTF-8/CP949, BOM), HTML, PDF and XLSX files; offsets of
findings index the extracted text."""

from __future__ import annotations

from pathlib import Path

import pytest

from ums_pipelines.compliance.pii import UnreadableFileError, extract_text, scan_file

RRN = "900101-1234567"
PHONE = "010-1234-5678"


def located(path: Path) -> list[tuple[str, str]]:
    text = extract_text(path)
    return [(f.type, text[f.start : f.end]) for f in scan_file(path)]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp949", b"")],
)
def test_csv_encodings(tmp_path: Path, encoding: str, bom: bytes) -> None:
    rows = f"이름,주민번호,연락처\n홍길동,{RRN},{PHONE}\n김민수,-,-\n"
    path = tmp_path / "customers.csv"
    path.write_bytes(bom + rows.encode(encoding))
    text = extract_text(path)
    assert text == rows  # the BOM is not part of the text, so offsets match the rows
    assert located(path) == [("KR_RRN", RRN), ("PHONE", PHONE)]
    [rrn, _] = scan_file(path)
    assert rrn.start == rows.index(RRN)


def test_txt_offsets(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    text = "첫 줄\n둘째 줄 메일 kim@example.com 입니다\n"
    path.write_text(text, encoding="utf-8")
    [finding] = scan_file(path)
    assert (finding.start, finding.end) == (text.index("kim@"), text.index(" 입니다"))


def test_html_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "mail.html"
    path.write_text(
        "<html><head><style>.a{content:'010-9999-8888'}</style>"
        "<script>var rrn='850101-1234567';</script></head>"
        f"<body><p>고객님 연락처&nbsp;{PHONE}</p><div>카드 4111-1111-1111-1111</div>"
        "<!-- 주석 900101-2234567 --></body></html>",
        encoding="utf-8",
    )
    text = extract_text(path)
    assert "850101" not in text and "9999" not in text and "900101" not in text
    assert located(path) == [("PHONE", PHONE), ("CARD", "4111-1111-1111-1111")]


def test_pdf_every_page(tmp_path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HYSMyeongJo-Medium"))
    path = tmp_path / "statement.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("HYSMyeongJo-Medium", 12)
    pdf.drawString(50, 800, f"주민등록번호 {RRN}")
    pdf.showPage()
    pdf.setFont("Helvetica", 12)
    pdf.drawString(50, 800, "reply to kim@example.com")
    pdf.save()
    assert located(path) == [("KR_RRN", RRN), ("EMAIL", "kim@example.com")]


def test_xlsx_every_sheet_row_by_row(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    first.append(["이름", "주민번호", "금액"])
    first.append(["홍길동", 9001011234567, 1234567])  # a number, as Excel keeps it
    second = book.create_sheet("연락처")
    second.append(["김민수", PHONE, None, "kim@example.com"])
    path = tmp_path / "list.xlsx"
    book.save(path)
    text = extract_text(path)
    assert text.splitlines()[1] == "홍길동\t9001011234567\t1234567"
    assert located(path) == [
        ("KR_RRN", "9001011234567"),
        ("PHONE", PHONE),
        ("EMAIL", "kim@example.com"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.7\n garbage without objects", "not a readable PDF"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "not a readable XLSX"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("latin.txt", bytes([0xFF, 0xFE, 0xFD, 0x80, 0x81]) * 3, "neither UTF-8 nor CP949"),
    ],
)
def test_unreadable_files_are_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError) as error:
        scan_file(path)
    assert name in str(error.value) and reason in str(error.value)


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"gone\.txt"):
        scan_file(tmp_path / "gone.txt")
