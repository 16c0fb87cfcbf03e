"""The managed "emotional phrase" list: seasons, the pick order and its determinism, and
the store functions on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ums_pipelines.audit import verify_chain
from ums_pipelines.content.phrases import (
    DEFAULT_PHRASES,
    MAX_PHRASE_CHARS,
    PhraseBook,
    PhraseError,
    add_phrase,
    list_phrases,
    retire_phrase,
    season_of,
    seed_defaults,
)
from ums_pipelines.store import Store
from ums_pipelines.store.models import AuditLog
from ums_pipelines.templates import check_template

ACTOR = "ops:kim"
SPRING, SUMMER, AUTUMN, WINTER = (date(2025, m, 15) for m in (4, 7, 10, 1))


@pytest.mark.parametrize(
    ("day", "season"),
    [
        (date(2025, 3, 1), "spring"),
        (date(2025, 5, 31), "spring"),
        (date(2025, 6, 1), "summer"),
        (date(2025, 8, 31), "summer"),
        (date(2025, 9, 1), "autumn"),
        (date(2025, 11, 30), "autumn"),
        (date(2025, 12, 1), "winter"),
        (date(2026, 1, 1), "winter"),
        (date(2024, 2, 29), "winter"),
    ],
)
def test_season_of_follows_the_korean_seasons(day: date, season: str) -> None:
    assert season_of(day) == season


BOOK = PhraseBook(
    [
        ("season", "spring", "봄 1"),
        ("season", "spring", "봄 2"),
        ("season", "winter", "겨울 1"),
        ("chuseok", None, "추석 1"),
        ("chuseok", None, "추석 2"),
        ("chuseok", None, "추석 3"),
        ("birthday", "summer", "여름 생일"),
        ("default", None, "기본 1"),
    ]
)


@pytest.mark.parametrize(
    ("occasion", "day", "expected"),
    [
        ("chuseok", AUTUMN, {"추석 1", "추석 2", "추석 3"}),  # the occasion first
        ("chuseok", SPRING, {"추석 1", "추석 2", "추석 3"}),  # whatever the season
        ("seollal", SPRING, {"봄 1", "봄 2"}),  # no phrases: the season's
        (None, WINTER, {"겨울 1"}),
        ("birthday", SUMMER, {"여름 생일"}),  # a seasonal occasion phrase in its season
        ("birthday", SPRING, {"봄 1", "봄 2"}),  # ... and not outside it
        (None, SUMMER, {"기본 1"}),  # no summer phrases: the default
        ("Chuseok", AUTUMN, {"기본 1"}),  # occasions are exact identifiers
    ],
)
def test_pick_order_occasion_then_season_then_default(
    occasion: str | None, day: date, expected: set[str]
) -> None:
    picked = {BOOK.pick(occasion, day, f"C{i:05d}") for i in range(200)}
    assert picked == expected


def test_pick_is_none_without_candidates() -> None:
    assert PhraseBook([]).pick("chuseok", AUTUMN, "C1") is None
    assert PhraseBook([("season", "spring", "봄")]).pick(None, WINTER, "C1") is None


def test_pick_is_deterministic_per_customer_and_varies_between_customers() -> None:
    customers = [f"C{i:05d}" for i in range(300)]
    first = [BOOK.pick("chuseok", AUTUMN, c) for c in customers]
    # A new book from the same rows (a resend, another process) picks the same.
    again = PhraseBook(
        [("chuseok", None, "추석 1"), ("chuseok", None, "추석 2"), ("chuseok", None, "추석 3")]
    )
    assert [again.pick("chuseok", date(2025, 9, 1), c) for c in customers] == first
    counts = {text: first.count(text) for text in set(first)}
    assert len(counts) == 3 and min(counts.values()) > 50  # 100 each if the hash is fair


def test_default_phrases_fit_a_phrase_slot() -> None:
    occasions = {occasion for occasion, _, _ in DEFAULT_PHRASES}
    assert {"season", "seollal", "chuseok", "birthday", "default"} <= occasions
    for _, _, text in DEFAULT_PHRASES:
        assert 0 < len(text) <= MAX_PHRASE_CHARS
        text.encode("cp949")
        # Inert in a template: a phrase is data, but it must also register as plain text.
        assert check_template("phrase", text, []) == set()
    seasons = {season for occasion, season, _ in DEFAULT_PHRASES if occasion == "season"}
    assert seasons == {"spring", "summer", "autumn", "winter"}


@pytest.mark.parametrize(
    ("occasion", "text", "season", "reason"),
    [
        ("Chuseok", "풍성한 한가위", None, "occasion: 'Chuseok' is not an identifier"),
        ("chu seok", "풍성한 한가위", None, "occasion:"),
        ("", "풍성한 한가위", None, "occasion:"),
        ("x" * 33, "풍성한 한가위", None, "occasion:"),
        ("chuseok", "   ", None, "text: empty"),
        ("chuseok", "가" * (MAX_PHRASE_CHARS + 1), None, "more than 60"),
        ("chuseok", "{{ name.__class__ }}님 행복하세요", None, "template syntax"),
        ("chuseok", "{% for i in x %}", None, "template syntax"),
        ("chuseok", "즐거운 추석\n보내세요", None, "line breaks"),
        ("chuseok", "즐거운 추석 🎑", None, "EUC-KR"),
        ("chuseok", "풍성한 한가위", "fall", "season: 'fall' is not one of"),
        ("season", "따뜻한 봄", None, "season: a phrase of occasion 'season' needs"),
    ],
)
def test_add_phrase_refuses_bad_input_naming_the_field(
    store: Store, occasion: str, text: str, season: str | None, reason: str
) -> None:
    with store.session() as session, pytest.raises(PhraseError, match=reason):
        add_phrase(session, occasion, text, season, actor=ACTOR)


def test_add_list_retire_with_audit(store: Store) -> None:
    with store.session() as session:
        a = add_phrase(session, "chuseok", "  풍성한 한가위 보내세요 ", actor=ACTOR)
        b = add_phrase(session, "season", "따뜻한 봄날 되세요", "spring", actor=ACTOR)
        add_phrase(session, "birthday", "생일 축하드립니다", actor=ACTOR)
        ids = (a.id, b.id)
    with store.session() as session:
        assert [p.text for p in list_phrases(session, "chuseok")] == ["풍성한 한가위 보내세요"]
        assert [p.occasion for p in list_phrases(session)] == ["birthday", "chuseok", "season"]
        with pytest.raises(PhraseError, match=r"text: the same phrase is already active"):
            add_phrase(session, "chuseok", "풍성한 한가위 보내세요", actor=ACTOR)
    with store.session() as session:
        assert retire_phrase(session, ids[0], ACTOR).active is False
        retire_phrase(session, ids[0], ACTOR)  # twice: a no-op, no second audit entry
        with pytest.raises(PhraseError, match=r"phrase_id: no phrase 999999"):
            retire_phrase(session, 999_999, ACTOR)
    with store.session() as session:
        assert list_phrases(session, "chuseok") == []
        assert [p.id for p in list_phrases(session, "chuseok", include_inactive=True)] == [ids[0]]
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions == ["phrase.added"] * 3 + ["phrase.retired"]
        assert session.scalars(select(AuditLog.actor)).all() == [ACTOR] * 4
        assert verify_chain(session) == 4
        # Adding a retired phrase again brings the same row back.
        again = add_phrase(session, "chuseok", "풍성한 한가위 보내세요", actor=ACTOR)
        assert again.id == ids[0] and again.active


def test_book_loads_active_phrases_only(store: Store) -> None:
    with store.session() as session:
        kept = add_phrase(session, "chuseok", "가족과 행복한 한가위", actor=ACTOR)
        gone = add_phrase(session, "chuseok", "풍성한 한가위", actor=ACTOR)
        add_phrase(session, "season", "선선한 가을", "autumn", actor=ACTOR)
        retire_phrase(session, gone.id, ACTOR)
        kept_text = kept.text
    with store.reading() as session:
        book = PhraseBook.load(session)
    assert {book.pick("chuseok", AUTUMN, f"C{i}") for i in range(50)} == {kept_text}
    assert book.pick("seollal", AUTUMN, "C1") == "선선한 가을"
    assert book.pick("seollal", SPRING, "C1") is None


def test_seed_defaults_is_idempotent_and_keeps_retirements(store: Store) -> None:
    with store.session() as session:
        assert seed_defaults(session) == len(DEFAULT_PHRASES)
    with store.session() as session:
        assert seed_defaults(session) == 0
        first = list_phrases(session, "default")[0]
        retire_phrase(session, first.id, ACTOR)
    with store.session() as session:
        assert seed_defaults(session) == 0
        assert len(list_phrases(session, include_inactive=True)) == len(DEFAULT_PHRASES)
        assert len(list_phrases(session)) == len(DEFAULT_PHRASES) - 1
        book = PhraseBook.load(session)
    assert book.pick("seollal", WINTER, "C00001") in {
        text for occasion, _, text in DEFAULT_PHRASES if occasion == "seollal"
    }
