"""Forbidden words: the managed lists (global and per department) and matching.

A word is matched ``exact`` (case-insensitive, on the text as written) or ``normalised``
(spacing, symbols and look-alike characters defeated: ``words_match.py``). Each carries
the reason shown to the author. ``WordList.load`` reads the global list and one
department's once per review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.channels.checks.result import Violation
from ums_pipelines.compliance.words_match import GLOBAL, Hit, WordList, fold_word
from ums_pipelines.store.compliance import ForbiddenWord
from ums_pipelines.store.engine import utcnow

__all__ = [
    "DEFAULT_WORDS",
    "FORBIDDEN_WORD",
    "GLOBAL",
    "MODES",
    "Hit",
    "WordError",
    "WordList",
    "add_word",
    "check_content",
    "check_department",
    "list_words",
    "restore_word",
    "retire_word",
    "seed_defaults",
]

MODES = ("exact", "normalised")
FORBIDDEN_WORD = "FORBIDDEN_WORD"  # the violation code of the content review
MAX_WORD_CHARS = 200
_DEPARTMENT = re.compile(r"^\w[\w.-]{0,63}$")

# Expressions banks keep out of advertising (금융소비자보호법 제22조, 허위·과장 광고):
# the demo's seed list, all normalised.
DEFAULT_WORDS: tuple[tuple[str, str], ...] = (
    ("원금 보장", "예금자보호 대상이 아닌 상품에 원금 보장 표현 금지 (허위·과장 광고)"),
    ("100% 보장", "수익이나 혜택을 확정적으로 보장하는 표현 금지"),
    ("무조건", "단정적 판단을 제공하는 표현 금지 (금융소비자보호법 제22조)"),
    ("확정 수익", "투자성 상품의 수익을 확정된 것처럼 안내하는 표현 금지"),
    ("손실 없음", "손실 위험이 없다고 오인하게 하는 표현 금지"),
    ("무위험", "손실 위험이 없다고 오인하게 하는 표현 금지"),
    ("무심사", "심사 없이 대출이 승인되는 것처럼 오인하게 하는 표현 금지"),
    ("신용등급 무관", "대출 승인 조건을 오인하게 하는 표현 금지"),
    ("누구나 대출", "대출 승인 조건을 오인하게 하는 표현 금지"),
    ("최저 금리 보장", "비교 근거 없는 최상급·보장 표현 금지"),
)


class WordError(ValueError):
    """A word that cannot be added or changed; the message names the field."""


def _clean_department(department: str | None) -> str | None:
    if department is None:
        return None
    if not isinstance(department, str) or not _DEPARTMENT.match(department):
        raise WordError(
            f"department: {department!r} is not an identifier "
            "(letters, digits, '_', '.', '-', 1-64, no spaces)"
        )
    return department


def _clean(word: str, mode: str, reason: str) -> tuple[str, str]:
    if mode not in MODES:
        raise WordError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    word = unicodedata.normalize("NFC", word.strip()) if isinstance(word, str) else ""
    if not word:
        raise WordError("word: empty")
    if len(word) > MAX_WORD_CHARS:
        raise WordError(f"word: {len(word)} characters, more than {MAX_WORD_CHARS}")
    if any(unicodedata.category(ch).startswith("C") for ch in word):
        raise WordError("word: control, format or zero-width characters are not allowed")
    if mode == "normalised" and not fold_word(word)[0]:
        raise WordError(f"word: {word!r} has no letter or digit left to match once normalised")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise WordError("reason: required (it is shown to the author)")
    return word, reason


def _same_scope(department: str | None) -> ColumnElement[bool]:
    if department is None:
        return ForbiddenWord.department.is_(None)
    return ForbiddenWord.department == department


def _active_duplicate(session: Session, word: str, department: str | None) -> ForbiddenWord | None:
    key = word.casefold()
    rows = session.scalars(
        select(ForbiddenWord).where(ForbiddenWord.active.is_(True), _same_scope(department))
    )
    return next((r for r in rows if r.word.casefold() == key), None)


def _state(row: ForbiddenWord) -> dict[str, object]:
    return {
        "word": row.word,
        "mode": row.mode,
        "department": row.department,
        "reason": row.reason,
        "active": row.active,
    }


def add_word(
    session: Session,
    word: str,
    *,
    reason: str,
    actor: str,
    mode: str = "exact",
    department: str | None = None,
) -> ForbiddenWord:
    """Add an active word to the global list (``department`` None) or a department's;
    the same word active in the same list is refused."""
    word, reason = _clean(word, mode, reason)
    department = _clean_department(department)
    same = _active_duplicate(session, word, department)
    if same is not None:
        raise WordError(f"word: {word!r} is already active in this list (id {same.id})")
    now = utcnow()
    row = ForbiddenWord(
        word=word,
        mode=mode,
        department=department,
        reason=reason,
        active=True,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "forbidden_word.added", "forbidden_word", str(row.id), after=_state(row)
    )
    return row


def list_words(
    session: Session, department: str | None = None, include_inactive: bool = False
) -> list[ForbiddenWord]:
    """Every list's words, or with ``department`` the words that apply to it (the global
    list and its own); global first, then by id."""
    query = select(ForbiddenWord)
    if department is not None:
        department = _clean_department(department)
        query = query.where(
            or_(ForbiddenWord.department.is_(None), ForbiddenWord.department == department)
        )
    if not include_inactive:
        query = query.where(ForbiddenWord.active.is_(True))
    rows = session.scalars(query.order_by(ForbiddenWord.id))
    return sorted(rows, key=lambda r: (r.department is not None, r.department or "", r.id))


def _set_active(session: Session, word_id: int, actor: str, active: bool) -> ForbiddenWord:
    row = session.get(ForbiddenWord, word_id)
    if row is None:
        raise WordError(f"word_id: no forbidden word {word_id}")
    if row.active == active:
        return row
    if active:
        same = _active_duplicate(session, row.word, row.department)
        if same is not None:
            raise WordError(f"word_id: {row.word!r} is already active again (id {same.id})")
    before = _state(row)
    row.active = active
    row.updated_at = utcnow()
    session.flush()
    action = "forbidden_word.restored" if active else "forbidden_word.retired"
    audit.record(
        session, actor, action, "forbidden_word", str(row.id), before=before, after=_state(row)
    )
    return row


def retire_word(session: Session, word_id: int, actor: str) -> ForbiddenWord:
    """Stop matching a word; kept for the record. Retiring twice is a no-op."""
    return _set_active(session, word_id, actor, False)


def restore_word(session: Session, word_id: int, actor: str) -> ForbiddenWord:
    """Match a retired word again, unless the same word is active in its list meanwhile."""
    return _set_active(session, word_id, actor, True)


def seed_defaults(session: Session, actor: str = "system:seed") -> int:
    """Add the ``DEFAULT_WORDS`` missing from the global list (a retired one stays
    retired); returns how many were added."""
    present = {r.word.casefold() for r in list_words(session, include_inactive=True)}
    added = 0
    for word, reason in DEFAULT_WORDS:
        if word.casefold() not in present:
            add_word(session, word, reason=reason, actor=actor, mode="normalised")
            added += 1
    return added


def check_department(session: Session, department: str | None, text: str) -> list[Hit]:
    """The hits of one text against the words that apply to ``department``."""
    return WordList.load(session, _clean_department(department)).find(text)


def check_content(
    session: Session, department: str | None, strings: Mapping[str, str]
) -> list[Violation]:
    """The content review's forbidden-word violations: per field, each hit as
    "field: contains forbidden word 'X' (reason)"."""
    words = WordList.load(session, _clean_department(department))
    if not len(words):
        return []
    return [
        Violation(
            code=FORBIDDEN_WORD,
            message=f"{field}: contains forbidden word {hit.word!r} ({hit.reason})",
        )
        for field, text in strings.items()
        for hit in words.find(text)
    ]
