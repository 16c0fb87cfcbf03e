"""What a PII recogniser reports, the shared boundaries and context words, and overlaps.

A finding keeps the matched text because callers (the content review) need to act on it,
but its ``repr`` and every rendering go through :attr:`Finding.masked`, so a finding that
ends up in a log line or a traceback does not leak the value.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ums_pipelines.compliance.pii.masks import mask_value

__all__ = [
    "AFTER",
    "BEFORE",
    "PII_TYPES",
    "THRESHOLD",
    "Context",
    "Finding",
    "PiiType",
    "resolve_overlaps",
]

PiiType = Literal[
    "KR_RRN",
    "KR_FRN",
    "PASSPORT",
    "DRIVER_LICENSE",
    "KR_BRN",
    "CARD",
    "ACCOUNT",
    "PHONE",
    "EMAIL",
]

# The order is the priority when two findings overlap: an e-mail address is one finding
# even when its local part is digits; an RRN beats a card or phone read of the same digits.
PII_TYPES: tuple[PiiType, ...] = (
    "EMAIL",
    "KR_RRN",
    "KR_FRN",
    "CARD",
    "KR_BRN",
    "DRIVER_LICENSE",
    "PASSPORT",
    "ACCOUNT",
    "PHONE",
)

# A number is only a candidate when it stands alone: not glued to letters or digits, and
# not one segment of a dashed or dotted identifier (ORD-..., TX/..., 1.2.3).
BEFORE = r"(?<![0-9A-Za-z_])(?<![0-9A-Za-z][-/])(?<!\d\.)"
AFTER = r"(?![0-9A-Za-z_])(?![-/][0-9A-Za-z])(?!\.\d)"

# Labels that say "this number is an order, transaction, parcel ... id", shared by all
# numeric recognisers. Longer words first so that the alternation prefers them.
_NEGATIVE_WORDS = (
    "주문번호",
    "주문",
    "거래번호",
    "거래 ID",
    "거래ID",
    "승인번호",
    "송장번호",
    "운송장",
    "택배",
    "배송조회",
    "접수번호",
    "예약번호",
    "회원번호",
    "고객번호",
    "상품코드",
    "상품번호",
    "모델명",
    "버전",
    "우편번호",
    "관리번호",
    "일련번호",
    "참조번호",
    "문서번호",
    "티켓",
    "트랜잭션",
    "쿠폰",
    "order",
    "tracking",
    "transaction",
    "txn",
    "invoice",
    "version",
    "serial",
    "ticket",
    "coupon",
)


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    # An English keyword must start a word ("order", not "border"); it may be a prefix
    # ("licen" for licence/license). Korean words match anywhere: particles attach to them.
    return re.compile(
        "|".join(
            ("(?<![A-Za-z])" if word[0].isascii() and word[0].isalpha() else "") + re.escape(word)
            for word in ordered
        ),
        re.IGNORECASE,
    )


_NEGATIVE = _alternation(_NEGATIVE_WORDS)

# Recognisers add up a score (shape, check digit, context) and keep a candidate at or
# above THRESHOLD; a positive keyword adds the bonus, a negative one takes off the malus.
THRESHOLD = 0.5
_CONTEXT_BONUS = 0.4
_NEGATIVE_MALUS = 0.45


@dataclass(frozen=True)
class Context:
    """Words that make a nearby number more (positive) or less (negative) likely PII.

    The keyword nearest to the number decides, so in "주문번호 A, 입금 계좌 B" the order
    label speaks for A and the account label for B. A keyword after the number counts a
    little further away than one before it, because Korean labels usually come first.
    """

    positive: re.Pattern[str]
    before: int = 30
    after: int = 20

    @classmethod
    def of(cls, words: Iterable[str], *, before: int = 30, after: int = 20) -> Context:
        return cls(_alternation(words), before, after)

    def polarity(self, text: str, start: int, end: int) -> int:
        """+1 (nearest keyword is a positive one), -1 (negative), 0 (none nearby)."""
        best: tuple[int, int] | None = None  # (distance, polarity)
        head = text[max(0, start - self.before) : start]
        tail = text[end : end + self.after]
        for pattern, polarity in ((self.positive, 1), (_NEGATIVE, -1)):
            for match in pattern.finditer(head):
                candidate = (len(head) - match.end(), polarity)
                best = candidate if best is None else min(best, candidate, key=_rank)
            for match in pattern.finditer(tail):
                candidate = (match.start() + 3, polarity)
                best = candidate if best is None else min(best, candidate, key=_rank)
        return 0 if best is None else best[1]

    def score(self, text: str, start: int, end: int) -> float:
        """The score adjustment the nearest keyword gives a candidate at ``start:end``."""
        polarity = self.polarity(text, start, end)
        if polarity > 0:
            return _CONTEXT_BONUS
        return -_NEGATIVE_MALUS if polarity < 0 else 0.0


def _rank(item: tuple[int, int]) -> tuple[int, int]:
    # At equal distance the positive keyword wins: a missed RRN costs more than a
    # flagged order number.
    return (item[0], -item[1])


@dataclass(frozen=True)
class Finding:
    """One PII value in a text: its type, character offsets and the matched text."""

    type: PiiType
    start: int
    end: int
    text: str = field(repr=False)
    score: float = 1.0

    @property
    def masked(self) -> str:
        """The value with enough hidden that it cannot be used (see ``masks``)."""
        return mask_value(self.type, self.text)

    def __repr__(self) -> str:
        return (
            f"Finding(type={self.type!r}, start={self.start}, end={self.end}, "
            f"masked={self.masked!r}, score={self.score:.2f})"
        )


def resolve_overlaps(candidates: Iterable[Finding]) -> list[Finding]:
    """One finding per span: the higher-priority type wins, then the longer match."""
    rank = {name: index for index, name in enumerate(PII_TYPES)}
    # Kept findings never overlap, so sorted by start their ends are sorted too, and a
    # candidate only needs checking against its two neighbours (bisect, not a scan: a
    # spreadsheet can hold thousands of findings).
    starts: list[int] = []
    kept: list[Finding] = []
    for candidate in sorted(candidates, key=lambda f: (rank[f.type], -(f.end - f.start), f.start)):
        at = bisect.bisect_left(starts, candidate.start)
        if at > 0 and kept[at - 1].end > candidate.start:
            continue
        if at < len(kept) and kept[at].start < candidate.end:
            continue
        starts.insert(at, candidate.start)
        kept.insert(at, candidate)
    return kept
