"""Per-recipient variables from the declared schema, and the short links they make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ums_pipelines.channels.payload import Button, Image, Payload
from ums_pipelines.content.render import LinkSettings, Renderer, shorten_payload
from ums_pipelines.content.spec import LEGACY_SPECS, VariableSpec, specs_from
from ums_pipelines.templates import TemplateError

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
LINKS = LinkSettings("https://bnk.kr/", timedelta(days=30), "https://bank.example/feedback")


@dataclass
class Person:
    customer_id: str = "C1"
    name: str | None = "김민수"
    branch: str | None = "강남지점"


def spec(**kw: Any) -> VariableSpec:
    return VariableSpec.model_validate(kw)


def renderer(*specs: VariableSpec, params: dict[str, Any] | None = None, **kw: Any) -> Renderer:
    values = {"job_name": "11월 이벤트", "department": "카드영업부", "params": params or {}}
    return Renderer(specs, values, date(2026, 11, 26), **({"links": LINKS} | kw))


def values(r: Renderer, who: Person | None = None, key: str = "J.k1") -> tuple[dict[str, str], Any]:
    links = r.message_links(key, "J", (who or Person()).customer_id, NOW)
    return r.variables(who or Person(), links), links


@pytest.mark.parametrize(
    ("declared", "who", "expected"),
    [
        (spec(name="name", kind="customer"), Person(), "김민수"),
        (spec(name="name", kind="customer", mask="name"), Person(), "김*수"),
        (spec(name="nm", kind="customer", field="name", default="고객"), Person(name=None), "고객"),
        (spec(name="branch", kind="customer", required=False), Person(branch=None), ""),
        (spec(name="amount", kind="job", type="int"), Person(), "1,250,000"),
        (spec(name="acct", kind="job", mask="account"), Person(), "110*******789"),
        (spec(name="card", kind="job", mask="card"), Person(), "****-****-****-4321"),
        (spec(name="due", kind="job", type="date"), Person(), "2026-12-01"),
        (spec(name="job_name", kind="job"), Person(), "11월 이벤트"),
    ],
)
def test_a_declared_value_is_read_checked_and_masked(
    declared: VariableSpec, who: Person, expected: str
) -> None:
    params = {
        "amount": "1,250,000",
        "acct": "110-1234-567789",
        "card": "9410-1234-5678-4321",
        "due": "2026-12-01",
    }
    got, _ = values(renderer(declared, params=params), who)
    assert got[declared.name] == expected


@pytest.mark.parametrize(
    ("declared", "params", "who", "reason"),
    [
        (spec(name="name", kind="customer"), {}, Person(name=None), "name: no value"),
        (spec(name="name", kind="customer", max_length=2), {}, Person(), "over its max_length 2"),
        (
            spec(name="amount", kind="job", type="int"),
            {"amount": "많이"},
            Person(),
            "not of type int",
        ),
        (spec(name="due", kind="job", type="date"), {"due": "12/01"}, Person(), "not of type date"),
        (spec(name="site", kind="job", type="url"), {"site": "javascript:x"}, Person(), "http"),
        (spec(name="event", kind="job"), {}, Person(), "event: no value"),
    ],
)
def test_a_missing_or_wrong_value_fails_the_recipient_naming_the_tag(
    declared: VariableSpec, params: dict[str, str], who: Person, reason: str
) -> None:
    with pytest.raises(TemplateError, match=reason):
        values(renderer(declared, params=params), who)


def test_short_and_feedback_links_are_made_per_message_after_the_plain_values() -> None:
    r = renderer(
        spec(name="link", kind="short_url", target="https://bank.example/e?b={{ branch }}"),
        spec(name="branch", kind="customer"),
        spec(name="fb", kind="feedback_url"),
    )
    got, links = values(r)
    assert got["link"].startswith("https://bnk.kr/") and got["fb"].startswith("https://bnk.kr/")
    assert [(x["position"], x["kind"], x["target_url"]) for x in links.rows] == [
        (0, "link", "https://bank.example/e?b=강남지점"),
        (1, "feedback", "https://bank.example/feedback"),
    ]
    assert all(x["message_key"] == "J.k1" and x["customer_id"] == "C1" for x in links.rows)
    assert links.rows[0]["expires_at"] == NOW + timedelta(days=30)
    again, _ = values(r, key="J.k2")
    assert again["link"] != got["link"]  # a code per message, never reused


def test_shorten_all_rewrites_every_url_but_not_its_own_links_or_image_sources() -> None:
    r = renderer(links=LinkSettings(**{**LINKS.__dict__, "shorten_all": True}))
    links = r.message_links("J.k1", "J", "C1", NOW)
    assert links is not None
    text = links.shorten("혜택 보기(https://bank.example/a?x=1) https://bnk.kr/keep")
    assert "bank.example" not in text and "https://bnk.kr/keep" in text
    html = links.shorten_html(
        '<a href="https://bank.example/b">b</a><img src="https://c.ex/i.png">'
    )
    assert "bank.example" not in html and 'src="https://c.ex/i.png"' in html
    payload = shorten_payload(
        links, Payload(buttons=[Button(type="WL", name="보기", url_mobile="https://m.bank.ex/")])
    )
    assert payload.buttons[0].url_mobile is not None
    assert payload.buttons[0].url_mobile.startswith("https://bnk.kr/")
    assert [x["position"] for x in links.rows] == [0, 1, 2]


def test_image_and_phrase_slots() -> None:
    picked: list[tuple[str | None, date, str]] = []

    def phrases(occasion: str | None, day: date, customer_id: str) -> str | None:
        picked.append((occasion, day, customer_id))
        return "따뜻한 겨울 보내세요"

    hero = Image(ref="a" * 64 + ".jpg", content_type="image/jpeg", size_bytes=10, width=1, height=1)
    r = renderer(
        spec(name="greeting", kind="phrase"),
        spec(
            name="hero", kind="image", field="tier", choices={"gold": hero.ref, "default": "d.jpg"}
        ),
        params={"tier": "gold", "occasion": "winter"},
        phrases=phrases,
        occasion="winter",
        images=lambda ref: hero,
    )
    got, _ = values(r)
    assert got["greeting"] == "따뜻한 겨울 보내세요"
    assert picked == [("winter", date(2026, 11, 26), "C1")]
    assert got["hero"] == f"https://bnk.kr/i/{hero.ref}"
    slot = Payload(
        images=[
            Image(
                ref="slot:hero",
                content_type="image/jpeg",
                size_bytes=0,
                width=0,
                height=0,
                link="https://x.ex",
            )
        ]
    )
    out = r.substitute_images(slot, got)
    assert out.images[0].ref == hero.ref and out.images[0].link == "https://x.ex"


def test_only_the_first_templates_fields_keep_the_legacy_fast_path() -> None:
    assert renderer(*specs_from(["name", "branch", "today"])).legacy
    assert not renderer(spec(name="name", kind="customer", mask="name")).legacy
    assert not renderer(
        LEGACY_SPECS["name"], links=LinkSettings(**{**LINKS.__dict__, "shorten_all": True})
    ).legacy
