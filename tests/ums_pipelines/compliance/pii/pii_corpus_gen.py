"""Generate the labelled PII corpus (corpus.jsonl next to this file). Run once, commit.

    .venv/bin/python tests/ums_pipelines/compliance/pii/pii_corpus_gen.py

Positives are generated from a fixed seed (real birth dates, Luhn-valid cards, BRNs with
their check digit, post-2020 RRNs with random trailing digits, bank groupings) inside
realistic Korean sentences, plus handwritten tricky cases; negatives are amounts, dates,
times, order/transaction/tracking numbers, ids, versions, zip codes and near-misses.
The labels come from how each value was built, never from the scanner under test.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

from pii_corpus_negatives import negatives
from stdnum import luhn

CORPUS = Path(__file__).with_name("corpus.jsonl")
SEED = 20261126

Case = dict[str, object]


def case(kind: str, template: str, **values: tuple[str, str]) -> Case:
    """A case from a template with ``{name}`` slots filled by (type, value) pairs."""
    text, spans, rest = "", [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        text += head
        pii_type, value = values[name]
        spans.append({"type": pii_type, "start": len(text), "end": len(text) + len(value)})
        text += value
    text += rest
    return {"kind": kind, "text": text, "spans": spans}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def rrn(rng: random.Random, *, foreign: bool = False, dash: bool = True) -> str:
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 84))
    digit = (5 if foreign else 1) + (2 if born.year >= 2000 else 0) + rng.randrange(2)
    body = f"{born:%y%m%d}{digit}{_digits(rng, 5)}"
    if rng.random() < 0.5:  # pre-2020 style: a valid check digit
        total = sum(int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9) * 2, strict=False))
        last = ((13 if foreign else 11) - total % 11) % 10
    else:  # issued since October 2020: random
        last = rng.randrange(10)
    number = f"{body}{last}"
    return f"{number[:6]}-{number[6:]}" if dash else number


def brn(rng: random.Random, dash: bool = True) -> str:
    while True:
        head = f"{rng.randrange(101, 999)}{rng.randrange(1, 99):02d}{rng.randrange(1, 9999):04d}"
        total = sum(int(d) * w for d, w in zip(head, (1, 3, 7, 1, 3, 7, 1, 3, 5), strict=False))
        total += int(head[8]) * 5 // 10
        number = head + str((10 - total % 10) % 10)
        return f"{number[:3]}-{number[3:5]}-{number[5:]}" if dash else number


_CARD_PREFIXES = (("4", 16), ("53", 16), ("2221", 16), ("37", 15), ("3540", 16), ("9410", 16))
_CARD_PREFIXES += (("6250", 16), ("4", 13), ("55", 16), ("34", 15))


def card(rng: random.Random, sep: str | None = "-") -> str:
    prefix, length = rng.choice(_CARD_PREFIXES)
    body = prefix + _digits(rng, length - len(prefix) - 1)
    number = body + luhn.calc_check_digit(body)
    if sep is None or length == 13:
        return number
    groups = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    parts, at = [], 0
    for size in groups:
        parts.append(number[at : at + size])
        at += size
    return sep.join(parts)


_ACCOUNT_GROUPS = ((3, 2, 6), (3, 3, 6), (4, 3, 6), (3, 6, 5), (3, 4, 4, 2), (6, 2, 6))
_ACCOUNT_GROUPS += ((3, 6, 2, 3), (4, 2, 7), (4, 4, 4), (3, 6, 3))


def account(rng: random.Random) -> str:
    groups = rng.choice(_ACCOUNT_GROUPS)
    return "-".join(str(rng.randrange(1, 10)) + _digits(rng, size - 1) for size in groups)


def phone(rng: random.Random) -> str:
    local = f"{rng.randrange(2, 10)}{_digits(rng, 3)}"
    last = _digits(rng, 4)
    styles = [
        f"010-{local}-{last}",
        f"010{local}{last}",
        f"010 {local} {last}",
        f"010.{local}.{last}",
        f"+82 10-{local}-{last}",
        f"+82-10-{local}-{last}",
        f"+8210{local}{last}",
        f"02-{local}-{last}",
        f"02-{local[:3]}-{last}",
        f"031-{local[:3]}-{last}",
        f"(02) {local}-{last}",
        f"051-{local}-{last}",
        f"070-{local}-{last}",
    ]
    return rng.choice(styles)


_NAMES = ["kim.minsu", "lee_jiwoo", "park.seojun", "choi91", "jung.hana+ums", "yoon-ara"]
_DOMAINS = ["naver.com", "gmail.com", "daum.net", "kakao.com", "example.co.kr", "hanmail.net"]


def email(rng: random.Random) -> str:
    return f"{rng.choice(_NAMES)}{rng.randrange(100)}@{rng.choice(_DOMAINS)}"


def passport(rng: random.Random) -> str:
    letter = rng.choice("MMMMSRODG")
    if rng.random() < 0.4:
        return f"M{_digits(rng, 3)}{rng.choice('ABCDEFGHJK')}{_digits(rng, 4)}"
    return letter + _digits(rng, 8)


def licence(rng: random.Random) -> str:
    body = f"{_digits(rng, 2)}-{_digits(rng, 6)}-{_digits(rng, 2)}"
    if rng.random() < 0.35:
        region = rng.choice(["서울", "부산", "경기", "대구", "인천", "제주", "경기북부"])
        return f"{region}{rng.choice(['', ' '])}{body}"
    return f"{rng.randrange(11, 29)}-{body}"


def positives(rng: random.Random) -> list[Case]:
    from pii_corpus_templates import HANDWRITTEN, TEMPLATES

    cases: list[Case] = []
    makers = {
        "KR_RRN": lambda dash: rrn(rng, dash=dash),
        "KR_FRN": lambda dash: rrn(rng, foreign=True, dash=dash),
        "PASSPORT": lambda _: passport(rng),
        "DRIVER_LICENSE": lambda dash: (
            licence(rng) if dash else f"{rng.randrange(11, 29)}{_digits(rng, 10)}"
        ),
        "KR_BRN": lambda dash: brn(rng, dash=dash),
        "CARD": lambda dash: card(rng, sep=rng.choice(["-", " "]) if dash else None),
        "ACCOUNT": lambda dash: (
            account(rng) if dash else str(rng.randrange(1, 10)) + _digits(rng, 12)
        ),
        "PHONE": lambda _: phone(rng),
        "EMAIL": lambda _: email(rng),
    }
    for pii_type, templates in TEMPLATES.items():
        for index in range(40):
            template, bare_ok = templates[index % len(templates)]
            # Every third sentence whose wording carries a context word uses the bare form.
            dash = not (bare_ok and index % 3 == 2)
            cases.append(case("positive", template, v=(pii_type, makers[pii_type](dash))))
    for index in range(30):
        cases.append(
            case(
                "positive",
                rng.choice(
                    [
                        "성명 홍길동, 주민번호 {r}, 연락처 {p}, 이메일 {e}",
                        "[신청서] 연락처 {p} / 주민등록번호 {r} / 회신 메일 {e}",
                        "고객 {e} 님 ({p}) 의 실명번호 {r} 확인 완료",
                    ]
                ),
                r=("KR_RRN", rrn(rng)),
                p=("PHONE", phone(rng)),
                e=("EMAIL", email(rng)),
            )
        )
        if index % 3 == 0:
            order = f"20261126{rng.randrange(10**5):05d}"
            cases.append(
                case(
                    "positive",
                    "환불 계좌 {a} (예금주 김민수), 결제 카드 {c}, 주문번호 " + order + " 참고",
                    a=("ACCOUNT", account(rng)),
                    c=("CARD", card(rng)),
                )
            )
    cases.extend(case("positive", template, **values) for template, values in HANDWRITTEN)
    return cases


def build() -> list[Case]:
    rng = random.Random(SEED)
    cases = positives(rng) + negatives(rng)
    for number, item in enumerate(cases, start=1):
        item["id"] = f"{item['kind'][:3]}-{number:04d}"
    return cases


def main() -> None:
    cases = build()
    with CORPUS.open("w", encoding="utf-8") as out:
        for item in cases:
            out.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    kinds = {kind: sum(1 for c in cases if c["kind"] == kind) for kind in ("positive", "negative")}
    print(f"wrote {CORPUS} ({kinds})", file=sys.stderr)


if __name__ == "__main__":
    main()
