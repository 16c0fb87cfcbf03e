"""The managed list of "emotional phrases" and the per-recipient pick.

A ``phrase`` variable (``content/spec.py``) is filled from this list. The pick order:

1. the occasion's phrases (the variable's fixed occasion, else the job's ``occasion``
   param: ``seollal``, ``chuseok``, ``birthday``, ...), those without a season or of the
   send day's season;
2. else the seasonal phrases: occasion ``season`` with the send day's season;
3. else the ``default`` phrases (without a season or of the day's season);
4. else none (the variable's own default applies).

Among the candidates the customer id picks one by a stable hash: a resend of the same
job gives the same phrase, and customers get variety. ``PhraseBook`` is loaded once per
job; ``pick`` does no I/O, it runs per recipient on the bulk path.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.store.content import Phrase
from ums_pipelines.store.engine import utcnow

__all__ = [
    "DEFAULT_PHRASES",
    "MAX_PHRASE_CHARS",
    "SEASONS",
    "PhraseBook",
    "PhraseError",
    "add_phrase",
    "list_phrases",
    "retire_phrase",
    "season_of",
    "seed_defaults",
]

SEASONS = ("spring", "summer", "autumn", "winter")
SEASONAL = "season"  # the occasion of phrases picked by season alone
DEFAULT = "default"
# One line of a 90-byte SMS is ~45 Hangul; a phrase is a part of a message, not all of it.
MAX_PHRASE_CHARS = 60
_OCCASION = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Phrases are data, never rendered; template syntax in one is a mistake or an attack.
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]|[}%#]\}")
# Month -> Korean season: spring Mar-May, summer Jun-Aug, autumn Sep-Nov, winter Dec-Feb.
_SEASON_BY_MONTH: tuple[str, ...] = (
    ("winter",) * 2 + ("spring",) * 3 + ("summer",) * 3 + ("autumn",) * 3 + ("winter",)
)

# (occasion, season, text): the demo's seed list.
DEFAULT_PHRASES: tuple[tuple[str, str | None, str], ...] = (
    (SEASONAL, "spring", "따뜻한 봄날, 늘 행복이 함께하시길 바랍니다."),
    (SEASONAL, "spring", "꽃피는 봄, 좋은 일만 가득하시길 바랍니다."),
    (SEASONAL, "summer", "무더운 여름, 건강 유의하시기 바랍니다."),
    (SEASONAL, "summer", "시원하고 즐거운 여름 보내세요."),
    (SEASONAL, "autumn", "풍성한 가을, 넉넉한 마음으로 보내세요."),
    (SEASONAL, "autumn", "선선한 가을바람처럼 기분 좋은 하루 되세요."),
    (SEASONAL, "winter", "추운 겨울, 따뜻하고 건강하게 보내세요."),
    (SEASONAL, "winter", "포근한 겨울, 늘 평안하시길 바랍니다."),
    ("seollal", None, "새해 복 많이 받으세요. 즐거운 설 명절 보내세요."),
    ("seollal", None, "풍성하고 행복한 설 명절 되시길 바랍니다."),
    ("chuseok", None, "한가위만 같아라! 풍성한 추석 보내세요."),
    ("chuseok", None, "가족과 함께 행복한 한가위 되시길 바랍니다."),
    ("birthday", None, "생일을 진심으로 축하드립니다."),
    ("birthday", None, "행복 가득한 생일 보내시길 바랍니다."),
    (DEFAULT, None, "오늘도 좋은 하루 되세요."),
    (DEFAULT, None, "늘 곁에서 함께하겠습니다."),
)


class PhraseError(ValueError):
    """A phrase that cannot be stored or changed; the message names the field."""


def season_of(day: date) -> str:
    """The Korean season of ``day``: spring Mar-May, summer Jun-Aug, autumn Sep-Nov,
    winter Dec-Feb."""
    return _SEASON_BY_MONTH[day.month - 1]


def _validated(occasion: str, text: str, season: str | None) -> tuple[str, str, str | None]:
    if not isinstance(occasion, str) or not _OCCASION.match(occasion):
        raise PhraseError(
            f"occasion: {occasion!r} is not an identifier "
            "(lower-case letters, digits and '_', 1-32, a letter first)"
        )
    if season is not None and season not in SEASONS:
        raise PhraseError(f"season: {season!r} is not one of {', '.join(SEASONS)}")
    if occasion == SEASONAL and season is None:
        raise PhraseError(f"season: a phrase of occasion '{SEASONAL}' needs its season")
    text = unicodedata.normalize("NFC", text.strip()) if isinstance(text, str) else ""
    if not text:
        raise PhraseError("text: empty")
    if len(text) > MAX_PHRASE_CHARS:
        raise PhraseError(f"text: {len(text)} characters, more than {MAX_PHRASE_CHARS}")
    if _TEMPLATE_SYNTAX.search(text):
        raise PhraseError("text: template syntax ('{{', '{%', '{#') is not allowed in a phrase")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise PhraseError("text: control characters and line breaks are not allowed")
    try:
        # A phrase goes into SMS: one EUC-KR can't carry would fail every message it is in.
        text.encode("cp949")
    except UnicodeEncodeError as exc:
        raise PhraseError(
            f"text: {text[exc.start]!r} cannot be sent by SMS (not in EUC-KR/CP949)"
        ) from None
    return occasion, text, season


def _existing(session: Session, occasion: str, text: str, season: str | None) -> Phrase | None:
    same_season = Phrase.season.is_(None) if season is None else Phrase.season == season
    query = select(Phrase).where(Phrase.occasion == occasion, Phrase.text == text, same_season)
    return session.scalars(query.order_by(Phrase.id)).first()


def add_phrase(
    session: Session, occasion: str, text: str, season: str | None = None, *, actor: str
) -> Phrase:
    """Add an active phrase; the same active phrase twice is refused, a retired one is
    brought back."""
    occasion, text, season = _validated(occasion, text, season)
    row = _existing(session, occasion, text, season)
    if row is not None and row.active:
        raise PhraseError(f"text: the same phrase is already active (id {row.id})")
    action = "phrase.restored" if row is not None else "phrase.added"
    if row is None:
        row = Phrase(occasion=occasion, season=season, text=text, created_at=utcnow())
        session.add(row)
    row.active = True
    session.flush()
    audit.record(session, actor, action, "phrase", str(row.id), occasion=occasion, season=season)
    return row


def list_phrases(
    session: Session, occasion: str | None = None, include_inactive: bool = False
) -> list[Phrase]:
    """Phrases by occasion, season, then age."""
    query = select(Phrase)
    if occasion is not None:
        query = query.where(Phrase.occasion == occasion)
    if not include_inactive:
        query = query.where(Phrase.active.is_(True))
    return list(session.scalars(query.order_by(Phrase.occasion, Phrase.season, Phrase.id)))


def retire_phrase(session: Session, phrase_id: int, actor: str) -> Phrase:
    """Take a phrase out of the picks; kept for the record. Retiring twice is a no-op."""
    row = session.get(Phrase, phrase_id)
    if row is None:
        raise PhraseError(f"phrase_id: no phrase {phrase_id}")
    if row.active:
        row.active = False
        session.flush()
        audit.record(session, actor, "phrase.retired", "phrase", str(row.id))
    return row


def seed_defaults(session: Session, actor: str = "system:seed") -> int:
    """Add the ``DEFAULT_PHRASES`` not yet stored; a retired one stays retired. Returns
    how many were added."""
    added = 0
    for occasion, season, text in DEFAULT_PHRASES:
        if _existing(session, occasion, text, season) is None:
            add_phrase(session, occasion, text, season, actor=actor)
            added += 1
    return added


class PhraseBook:
    """The active phrases of one job, indexed for ``pick``."""

    def __init__(self, phrases: Iterable[tuple[str, str | None, str]]) -> None:
        # (occasion, season) -> candidates: the occasion's phrases without a season or of
        # that season, in the given (id) order, so the same customer keeps the same one.
        pools: dict[tuple[str, str], list[str]] = {}
        for occasion, season, text in phrases:
            for s in SEASONS if season is None else (season,):
                pools.setdefault((occasion, s), []).append(text)
        self._pools = {key: tuple(texts) for key, texts in pools.items()}

    @classmethod
    def load(cls, session: Session) -> PhraseBook:
        rows = session.execute(
            select(Phrase.occasion, Phrase.season, Phrase.text)
            .where(Phrase.active.is_(True))
            .order_by(Phrase.id)
        )
        return cls((occasion, season, text) for occasion, season, text in rows)

    def pick(self, occasion: str | None, day: date, customer_id: str) -> str | None:
        season = _SEASON_BY_MONTH[day.month - 1]
        pools = self._pools
        candidates = (
            (occasion is not None and pools.get((occasion, season)))
            or pools.get((SEASONAL, season))
            or pools.get((DEFAULT, season))
        )
        if not candidates:
            return None
        digest = hashlib.blake2b(customer_id.encode(), digest_size=8).digest()
        return candidates[int.from_bytes(digest, "big") % len(candidates)]
