"""Forbidden words: the managed lists and matching exact and normalised."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ums_pipelines.compliance.words import (
    DEFAULT_WORDS,
    FORBIDDEN_WORD,
    GLOBAL,
    WordError,
    WordList,
    add_word,
    check_content,
    list_words,
    restore_word,
    retire_word,
    seed_defaults,
)
from ums_pipelines.store import Store
from ums_pipelines.store.compliance import ForbiddenWord
from ums_pipelines.store.models import AuditLog


def row(word: str, mode: str = "normalised", department: str | None = None, **kw: Any) -> Any:
    return ForbiddenWord(
        id=kw.get("id", 1), word=word, mode=mode, department=department,
        reason=kw.get("reason", "사유"), active=True,
    )  # fmt: skip


def found(words: WordList, text: str) -> list[str]:
    """The stretches of ``text`` the hits point at."""
    return [text[h.start : h.end] for h in words.find(text)]


# -- matching -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "대출",
        "대 출",
        "대.출",
        "대-출",
        "대ㅡ출",  # the vowel ㅡ as a dash
        "대\u200b출",  # zero-width space
        "대\u3164출",  # Hangul filler, printed blank
        "ㄷㅐㅊㅜㄹ",  # typed apart as compatibility jamo
        "\u1103\u1162\u110e\u116e\u11af",  # decomposed (NFD) jamo
        "대★출",
        "ㄷㅐ ㅊㅜㄹ",
    ],
)
def test_normalised_hangul_word_defeats_spacing_symbols_and_jamo(text: str) -> None:
    words = WordList([row("대출")])
    assert found(words, f"오늘 {text} 안내") == [text]


@pytest.mark.parametrize(
    "text",
    [
        "LOAN",
        "L o a n",
        "ｌｏａｎ",  # full-width
        "lоan",  # Cyrillic о
        "lοan",  # Greek omicron
        "ΙΟΑΝ",  # Greek capitals; I and l look alike, so they match alike
        "l0an",
        "1oan",
        "|0@n",
        "loân",  # a diacritic
        "ŁOAN",
    ],
)
def test_normalised_latin_word_defeats_look_alikes_and_digits(text: str) -> None:
    words = WordList([row("loan")])
    assert found(words, f"quick {text}!") == [text]


@pytest.mark.parametrize("text", ["대추", "대 추 출", "lean", "load", "원금은 보호"])
def test_normalised_matching_does_not_invent_words(text: str) -> None:
    assert WordList([row("대출"), row("loan"), row("원금보장")]).find(text) == []


def test_words_with_digits_and_symbols_keep_their_digits() -> None:
    words = WordList([row("100% 보장")])
    assert found(words, "수익 100 % 보장!") == ["100 % 보장"]
    assert found(words, "수익 1OO% 보장") == []  # letters are not digits in a Hangul word


def test_exact_mode_is_case_insensitive_on_the_text_as_written() -> None:
    words = WordList([row("Free Gift", mode="exact")])
    assert found(words, "A FREE GIFT and a free gift") == ["FREE GIFT", "free gift"]
    assert words.find("a free  gift, a fr.ee gift") == []


def test_exact_mode_offsets_survive_case_folding_that_changes_length() -> None:
    # "ß" folds to "ss": offsets after it still point into the text as given.
    text = "Straße: KOSTENLOS"
    hits = WordList([row("kostenlos", mode="exact")]).find(text)
    assert [(h.start, h.end) for h in hits] == [(8, 17)]
    assert text[8:17] == "KOSTENLOS"


def test_hit_carries_word_reason_scope_and_every_occurrence() -> None:
    words = WordList(
        [
            row("무조건", id=1, reason="단정적 표현"),
            row("무조건", id=2, department="card", reason="카드 광고 금지"),
            row("원금 보장", id=3, reason="허위 광고"),
        ]
    )
    text = "원금보장! 무조건 드려요, 무 조 건"
    hits = words.find(text)
    # One hit per stretch and word: the department's own entry wins over the global one.
    assert [(h.word_id, h.scope, h.reason, text[h.start : h.end]) for h in hits] == [
        (3, GLOBAL, "허위 광고", "원금보장"),
        (2, "card", "카드 광고 금지", "무조건"),
        (2, "card", "카드 광고 금지", "무 조 건"),
    ]


# -- the managed lists ----------------------------------------------------------------


def test_add_validates_each_field(store: Store) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"word": "  "}, r"^word: empty"),
        ({"word": "!!!", "mode": "normalised"}, r"^word: .*no letter or digit"),
        ({"word": "a\u200bb"}, r"^word: control"),
        ({"word": "x" * 201}, r"^word: 201 characters"),
        ({"mode": "fuzzy"}, r"^mode: 'fuzzy'"),
        ({"department": "card dept"}, r"^department: 'card dept'"),
        ({"reason": " "}, r"^reason: required"),
    ]
    for overrides, match in cases:
        args: dict[str, Any] = {"word": "무조건", "reason": "단정", "mode": "exact"} | overrides
        with store.session() as session, pytest.raises(WordError, match=match):
            add_word(session, args.pop("word"), actor="t", **args)
    with store.session() as session:
        assert list_words(session, include_inactive=True) == []


def test_same_active_word_in_the_same_list_is_refused(store: Store) -> None:
    with store.session() as session:
        first = add_word(session, "무조건", reason="단정", actor="t").id
        # Another list may hold it: a department's own reason.
        add_word(session, "무조건", reason="카드", actor="t", department="card")
    with store.session() as session, pytest.raises(WordError, match=rf"already active.*{first}"):
        add_word(session, "무조건", reason="again", actor="t", mode="normalised")
    with store.session() as session:
        retire_word(session, first, "t")
        second = add_word(session, "무조건", reason="다시", actor="t").id
    with store.session() as session, pytest.raises(WordError, match=rf"active again.*{second}"):
        restore_word(session, first, "t")


def test_list_retire_restore_and_audit(store: Store) -> None:
    with store.session() as session:
        g = add_word(session, "무조건", reason="단정", actor="kim").id
        c = add_word(session, "Free", reason="영문", actor="kim", department="card").id
        add_word(session, "특판", reason="예금", actor="kim", department="deposit")
    with store.session() as session:
        assert [r.id for r in list_words(session, "card")] == [g, c]
        assert len(list_words(session)) == 3
        retire_word(session, g, "lee")
        retire_word(session, g, "lee")  # twice: no second entry
    with store.session() as session:
        assert [r.id for r in list_words(session, "card")] == [c]
        assert [r.id for r in list_words(session, "card", include_inactive=True)] == [g, c]
        assert WordList.load(session, "card").find("무조건 free") != []  # "Free" only
        restore_word(session, g, "lee")
        audits = session.scalars(
            select(AuditLog).where(AuditLog.entity == "forbidden_word").order_by(AuditLog.id)
        ).all()
    assert [(a.action, a.actor) for a in audits] == [
        ("forbidden_word.added", "kim"),
        ("forbidden_word.added", "kim"),
        ("forbidden_word.added", "kim"),
        ("forbidden_word.retired", "lee"),
        ("forbidden_word.restored", "lee"),
    ]
    assert audits[3].detail["before"]["active"] is True
    assert audits[3].detail["after"]["active"] is False
    with store.session() as session, pytest.raises(WordError, match=r"^word_id: no forbidden"):
        retire_word(session, 999, "lee")


def test_word_list_takes_global_and_the_departments_own(store: Store) -> None:
    with store.session() as session:
        add_word(session, "무조건", reason="단정", actor="t")
        add_word(session, "특판", reason="예금 전용", actor="t", department="deposit")
    with store.session() as session:
        assert [h.word for h in WordList.load(session, "card").find("무조건 특판")] == ["무조건"]
        hits = WordList.load(session, "deposit").find("무조건 특판")
        assert [(h.word, h.scope) for h in hits] == [("무조건", GLOBAL), ("특판", "deposit")]


def test_check_content_names_the_field_word_and_reason(store: Store) -> None:
    with store.session() as session:
        seed_defaults(session)
        assert seed_defaults(session) == 0  # idempotent
        violations = check_content(
            session,
            "card",
            {"variants[sms].body": "(광고) 원금 보장 상품!", "variants[email].subject": "안내"},
        )
    reason = dict(DEFAULT_WORDS)["원금 보장"]
    assert [(v.code, v.message) for v in violations] == [
        (FORBIDDEN_WORD, f"variants[sms].body: contains forbidden word '원금 보장' ({reason})")
    ]
