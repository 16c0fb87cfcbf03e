"""The daily report as a real browser shows it: headless Chromium screenshot and DOM."""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reports.render import SERIES, render_daily_report
from ums_pipelines.settings import Settings

pytestmark = [
    pytest.mark.browser,
    # The page is what is under test here; both store backends are covered in tests/sql.
    pytest.mark.parametrize("store_url", ["sqlite"], indirect=True),
]

WIDTH, HEIGHT = 1280, 1600


def _run_chromium(
    chromium: str, tmp_path: Path, name: str, *args: str
) -> subprocess.CompletedProcess[str]:
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / f'profile-{name}'}",
        *args,
    ]
    # The timeout only stops a hung browser from hanging the suite; nothing is timed.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _read_png(path: Path) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """Width, height and a colour histogram (every other pixel) of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), header
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    prev = bytearray(stride)
    colours: Counter[tuple[int, int, int]] = Counter()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        if y % 2 == 0:
            for i in range(0, stride, 2 * bpp):
                colours[(line[i], line[i + 1], line[i + 2])] += 1
        prev = line
    return width, height, colours


def _has_colour(colours: Counter[tuple[int, int, int]], hex_colour: str, tol: int = 6) -> bool:
    want = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return any(all(abs(c - w) <= tol for c, w in zip(rgb, want, strict=True)) for rgb in colours)


def test_report_renders_in_headless_chromium(
    report_settings: Settings,
    seed: ModuleType,
    tmp_path: Path,
    parse_report: Callable[[str], Any],
    chromium: str,
) -> None:
    page = render_daily_report(
        report_settings, seed.D1, generated_at=datetime(2025, 3, 11, tzinfo=UTC)
    )
    url = page.resolve().as_uri()

    png = tmp_path / "report.png"
    _run_chromium(
        chromium, tmp_path, "shot", f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", url
    )
    assert png.is_file()
    width, height, colours = _read_png(png)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(colours) >= 8, "the screenshot is (nearly) one flat colour"
    background_share = colours.most_common(1)[0][1] / sum(colours.values())
    assert background_share < 0.97
    for name, _ko, _en, colour in SERIES:
        assert _has_colour(colours, colour), f"no {name} bar ({colour}) on the screenshot"

    dom = parse_report(_run_chromium(chromium, tmp_path, "dom", "--dump-dom", url).stdout)
    rows = dom.tables["channel-table"]["tbody"]
    assert [r[0] for r in rows] == [
        "앱 푸시 App push",
        "카카오 알림톡 KakaoTalk AlimTalk",
        "문자 Text message",
    ]
    assert dom.tables["channel-table"]["tfoot"][0][:4] == ["합계 Total", "14", "12", "7"]
    assert "channel-chart" in dom.ids
    per_series = Counter(b["class"] for b in dom.bars)
    assert per_series == {f"bar bar-{name}": 3 for name, *_ in SERIES}
    assert all(float(b["width"]) > 0 for b in dom.bars if b["class"] == "bar bar-delivered")
