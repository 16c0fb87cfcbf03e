"""The preview page as headless Chromium shows it on a phone (390 px) and a desktop
(1280 px): every channel variant and every fallback leg with its counts, no sideways
scroll on the phone, a grid on the desktop."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PilImage
from PIL import ImageDraw

from ums_pipelines.channels.content import ContentStore
from ums_pipelines.channels.payload import Button, DmLetter, Payload, PushOptions, RcsOptions
from ums_pipelines.content.preview import Preview, build_preview, render_preview_html
from ums_pipelines.jobs import ChannelVariant, register_sender_number, register_template
from ums_pipelines.lanes import Purpose

pytestmark = [
    pytest.mark.browser,
    # The page is under test here; both store backends are covered by test_preview.py.
    pytest.mark.parametrize("store_url", ["sqlite"], indirect=True),
]

CHANNELS = ("sms", "rcs", "alimtalk", "friendtalk", "push", "email", "dm")
CHAINS = [["push", "alimtalk", "sms"], ["rcs", "email", "dm"]]
SIZES = {"phone": (390, 3000), "desktop": (1280, 2000)}
DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"
LINK = "https://m.bank.example/events/2026/spring-savings-campaign?utm_source=ums&utm_medium=rcs"
# Headless Chromium lays a --dump-dom page out at least 500 px wide, so the page goes
# into an iframe of the exact width; a script reports its layout into the outer DOM.
PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"><script>
function report(frame) {
  const doc = frame.contentDocument, root = doc.documentElement;
  const cards = [...doc.querySelectorAll('article.card')].map(a => {
    const r = a.getBoundingClientRect(), count = a.querySelector('p.count');
    return {id: a.id, channel: a.dataset.channel, count: count ? count.textContent.trim() : '',
            left: Math.round(r.left), right: Math.round(r.right)};
  });
  document.getElementById('layout').textContent = JSON.stringify({
    clientWidth: root.clientWidth, scrollWidth: root.scrollWidth, cards: cards});
}
</script></head><body style="margin:0">
<iframe style="width:%dpx;height:2000px;border:0" onload="report(this)" srcdoc="%s"></iframe>
<pre id="layout"></pre></body></html>"""


def _run_chromium(chromium: str, tmp_path: Path, name: str, *args: str) -> str:
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
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
    return done.stdout


@dataclass
class _Card:
    attrs: dict[str, str]
    count: str = ""


class _Page(HTMLParser):
    """Cards by id with their data attributes and count text; the layout report."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, _Card] = {}
        self.layout = ""
        self._card: _Card | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "article" and "card" in a.get("class", "").split():
            self._card = self.cards[a["id"]] = _Card(a)
        elif tag == "p" and "count" in a.get("class", "").split() and self._card is not None:
            self._in = "count"
        elif tag == "pre" and a.get("id") == "layout":
            self._in = "layout"

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._card = None
        if tag in ("p", "pre"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "count" and self._card is not None:
            self._card.count += data
        elif self._in == "layout":
            self.layout += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _jpeg() -> bytes:
    img = PilImage.new("RGB", (640, 360), (18, 58, 122))
    ImageDraw.Draw(img).rectangle((40, 220, 600, 330), fill=(242, 184, 32))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _variants(bank: Any) -> list[ChannelVariant]:
    image = ContentStore(bank.settings.content_dir).put_image(_jpeg(), link=LINK)
    web = Button(type="WL", name="혜택 보기", url_mobile=LINK, url_pc="https://bank.example/e")
    return [
        ChannelVariant(
            "sms",
            "[UMS은행] {{ name }}님, 봄맞이 적금 특판 안내입니다. 연 4.5% 우대금리, 가입 기간은"
            " 3월 한 달입니다. 자세히 보기 " + LINK,
        ),
        ChannelVariant(
            "rcs",
            "[UMS은행] {{ name }}님, 새 모바일 통장 디자인을 안내드립니다.",
            "새 통장 디자인",
            payload=Payload(
                rcs=RcsOptions(rcs_type="MMS"),
                images=[image],
                buttons=[Button(type="openUrl", name="자세히 보기", url_mobile=LINK)],
            ),
        ),
        ChannelVariant(
            "alimtalk",
            "[UMS은행] {{ name }}님, {{ branch }}에서 신청하신 적금이"
            " {{ today }}에 개설되었습니다.",
            provider_template_code="UMS_SAVE_01",
            payload=Payload(buttons=[web]),
        ),
        ChannelVariant(
            "friendtalk",
            "(광고) UMS은행 {{ name }}님께 드리는 봄맞이 혜택\n무료수신거부 080-123-4567",
            payload=Payload(kakao_type="IMAGE", images=[image], buttons=[web]),
        ),
        ChannelVariant(
            "push",
            "{{ name }}님, 적금이 개설되었습니다.",
            "적금 개설",
            payload=Payload(push=PushOptions(data={"kind": "savings"}, badge=1, sound="default")),
        ),
        ChannelVariant(
            "email",
            "{{ name }}님, 적금 개설을 축하드립니다.\nUMS은행 드림",
            "[UMS은행] {{ name }}님 적금 개설 안내",
            "<h2 style='color:#123a7a'>적금 개설 안내</h2><p>{{ name }}님, <b>{{ branch }}</b>"
            "에서 적금이 개설되었습니다.</p><p><a href='" + LINK + "'>상품 안내</a></p>",
        ),
        ChannelVariant(
            "dm",
            "{{ name }} 고객님,\n{{ branch }}에서 적금 통장을 우편으로 보내드립니다.",
            payload=Payload(
                dm=DmLetter(
                    postcode="04524",
                    address="서울특별시 중구 세종대로 110",
                    address_detail="UMS은행 {{ branch }} 보관",
                )
            ),
        ),
    ]


def _preview(bank: Any) -> Preview:
    with bank.store.session() as session:
        register_sender_number(session, "15881234", "고객센터", actor="test")
        register_template(
            session,
            code="spring-savings",
            name="봄맞이 적금 안내",
            purpose=Purpose.INFORMATIONAL,
            variables=("name", "branch", "today"),
            variants=_variants(bank),
            actor="test",
        )
    bank.add_customer("C1", email="kim.minsu@example.com", push_token="fcm-token-0123456789")
    bank.add_customer("C2", name="이영희", branch="여의도지점", phone="01087654321")
    with bank.store.session() as session:
        return build_preview(
            session,
            code="spring-savings",
            customer_ids=["C1", "C2"],
            chains=CHAINS,
            now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
            settings=bank.settings,
        )


def _colour_near(img: PilImage.Image, hex_colour: str, tol: int = 8) -> bool:
    want = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    colours = img.convert("RGB").getcolors(maxcolors=1 << 24) or []
    return any(all(abs(c - w) <= tol for c, w in zip(rgb, want, strict=True)) for _, rgb in colours)


def test_preview_page_on_a_phone_and_a_desktop(bank: Any, tmp_path: Path, chromium: str) -> None:
    preview = _preview(bank)
    html = render_preview_html(preview)
    page_file = tmp_path / "preview.html"
    page_file.write_text(html, encoding="utf-8")

    expected: dict[str, tuple[str, str]] = {}  # card id -> (channel, count text)
    for ci, customer in enumerate(preview.customers):
        assert [leg.channel for leg in customer.variants] == list(CHANNELS)
        for leg in customer.variants:
            assert leg.count is not None, (customer.customer_id, leg.channel, leg.error)
            expected[f"c{ci}-variant-{leg.channel}"] = (leg.channel, leg.count.text)
        for hi, chain in enumerate(customer.chains):
            for k, leg in enumerate(chain.legs):
                assert leg.count is not None
                expected[f"c{ci}-chain{hi}-leg{k}"] = (CHAINS[hi][k], leg.count.text)
    assert len(expected) == 2 * (7 + 6)

    for name, (width, height) in SIZES.items():
        png = tmp_path / f"preview-{width}.png"
        _run_chromium(
            chromium,
            tmp_path, f"shot-{name}", f"--screenshot={png}", f"--window-size={width},{height}",
            page_file.as_uri(),
        )  # fmt: skip
        with PilImage.open(png) as img:
            assert img.size == (width, height)
            assert len(img.convert("RGB").getcolors(maxcolors=1 << 24) or []) > 50
            # A violation's red card edge (FriendTalk is advertising only) and green ones.
            for colour in ("#1b7f3b", "#c62828", "#fee500"):
                assert _colour_near(img, colour), f"{colour} not on the {width} px screenshot"
        if os.environ.get("UMS_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, DOCS_IMG / png.name)

        probe = tmp_path / f"probe-{width}.html"
        probe.write_text(PROBE % (width, escape(html, quote=True)), encoding="utf-8")
        # The outer window is wide enough for any iframe: what is measured is the iframe.
        dumped = _run_chromium(
            chromium,
            tmp_path,
            f"probe-{name}",
            "--window-size=1400,2200",
            "--dump-dom",
            probe.as_uri(),
        )
        layout = json.loads(_parse(dumped).layout)
        cards = {c["id"]: c for c in layout["cards"]}
        for card_id, (channel, count) in expected.items():
            assert card_id in cards, f"{card_id} missing at {width} px"
            assert (cards[card_id]["channel"], cards[card_id]["count"]) == (channel, count)
        assert layout["clientWidth"] <= width
        assert layout["scrollWidth"] <= layout["clientWidth"], "the page scrolls sideways"
        assert all(c["left"] >= 0 and c["right"] <= width for c in cards.values()), layout
        lefts = {c["left"] for c in cards.values() if c["id"].startswith("c0-variant-")}
        if width == 390:
            assert len(lefts) == 1, f"variant cards not in one column: {lefts}"
        else:
            assert len(lefts) >= 3, f"variant cards not in a grid: {lefts}"

    # The page itself, as the browser parsed it: every card, its channel and its count.
    dom = _parse(_run_chromium(chromium, tmp_path, "dom", "--dump-dom", page_file.as_uri()))
    for card_id, (channel, count) in expected.items():
        card = dom.cards.get(card_id)
        assert card is not None, f"{card_id} missing from the DOM"
        assert card.attrs["data-channel"] == channel and card.count.strip() == count
        assert re.fullmatch(r"[\d,]+( / [\d,]+)? (bytes|chars) \(\w+\)", count)
    assert 'class="card ch-friendtalk is-bad"' in html  # informational: FriendTalk refused
