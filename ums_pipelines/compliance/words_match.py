"""Matching forbidden words: ``WordList.find`` in texts folded so that every folded
character keeps its place in the original text. ``find`` does no I/O: a few string
scans per word.

A sender evading a list writes "대 출", "대.출", "대ㅡ출", "ㄷㅐㅊㅜㄹ", "ｌｏａｎ", "lоan"
(Cyrillic о), "l0an" or "대\u200b출". Folding turns each of these into the word as listed:

- NFKC (full-width forms, ligatures, circled digits, compatibility jamo), then
  Cyrillic/Greek look-alikes to Latin, case folding and Latin diacritics dropped;
- decomposed or typed-apart Hangul jamo recomposed into syllables (a final consonant
  typed as a separate jamo joins the syllable before it when no vowel follows);
- everything that is not a letter or a digit dropped: spaces, punctuation, symbols,
  zero-width characters, Hangul fillers, and a lone ㅡ or ㅣ used as a dash or bar;
- for words of Latin letters only, a second form where digits and symbols standing for
  letters count as those letters (0 o, 1 l i, 3 e, 4 a, 5 s, 7 t, @ a, $ s, ! | i).

Each folded character keeps the span of the original characters it came from, so a hit
in folded text maps back to the exact stretch of the message to show the author.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ums_pipelines.store.compliance import ForbiddenWord

__all__ = ["GLOBAL", "Folded", "Hit", "WordList", "fold", "fold_word", "is_latin"]

GLOBAL = "global"  # the scope of words without a department

# Look-alikes by shape, upper case to upper case so that case folding afterwards keeps
# Greek eta (H) and Greek small eta (n) apart.
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M",
        "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ү": "Y",
        "а": "a", "е": "e", "ё": "e", "і": "i", "ї": "i", "ј": "j", "о": "o", "р": "p",
        "с": "c", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q",
        "ԝ": "w", "в": "b", "к": "k", "м": "m", "н": "h", "т": "t", "п": "n", "г": "r",
        # Greek
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
        "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
        # Latin letters of other alphabets that pass for plain ones
        "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ℓ": "l", "Ł": "L", "ł": "l", "Ø": "O",
        "ø": "o", "Đ": "D", "đ": "d",
    }
)  # fmt: skip
# Symbols that stand for Latin letters; kept only in the "leet" form of Latin words.
_LEET_SYMBOLS = frozenset("@$!|")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "l": "i", "!": "i", "|": "i", "3": "e", "4": "a", "5": "s",
     "7": "t", "@": "a", "$": "s"}
)  # fmt: skip
# Hangul fillers are letters to Unicode but print as blanks; ㅡ and ㅣ on their own
# (not part of a syllable) are dashes and bars in disguise.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u1173\u1175")
_SYLLABLES = range(0xAC00, 0xD7A4)
# Initial consonant (choseong) -> the same consonant as a final (jongseong).
_AS_FINAL = dict(zip("ᄀᄁᄂᄃᄅᄆᄇᄉᄊᄋᄌᄎᄏᄐᄑᄒ", "ᆨᆩᆫᆮᆯᆷᆸᆺᆻᆼᆽᆾᆿᇀᇁᇂ", strict=True))


@dataclass(frozen=True)
class Folded:
    """One folded form: ``text`` and, per character, the original span it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, length: int) -> tuple[int, int]:
        """The original span of folded characters ``start .. start+length``."""
        return self.starts[start], self.ends[start + length - 1]


def _is_jamo(ch: str) -> bool:
    return "\u1100" <= ch <= "\u11ff" or "\u3131" <= ch <= "\u318e"


def _is_vowel(ch: str) -> bool:
    return "\u1161" <= unicodedata.normalize("NFKC", ch)[:1] <= "\u1175"


def _open_syllable(s: str) -> bool:
    """A syllable without a final consonant, which one may still join."""
    return len(s) == 1 and ord(s) in _SYLLABLES and (ord(s) - 0xAC00) % 28 == 0


def _joins(text: str, start: int, j: int) -> bool:
    """Whether ``text[j]`` belongs to the character that began at ``start``: a combining
    mark, or a jamo that composes with it."""
    ch = text[j]
    if ch < "\u0300":
        return False
    if unicodedata.category(ch).startswith("M"):
        return True
    if not _is_jamo(ch):
        return False
    so_far = unicodedata.normalize("NFKC", text[start:j])
    if len(unicodedata.normalize("NFKC", so_far + ch)) == 1:
        return True
    # A final consonant typed apart ("대추ㄹ"): joins unless a vowel makes it an initial.
    final = _AS_FINAL.get(unicodedata.normalize("NFKC", ch))
    nxt = text[j + 1] if j + 1 < len(text) else ""
    return final is not None and _open_syllable(so_far) and not (nxt and _is_vowel(nxt))


@lru_cache(maxsize=8192)
def _fold_unit(unit: str) -> str:
    """The folded characters of one original character (with its marks or jamo)."""
    s = unicodedata.normalize("NFKC", unit)
    if len(s) == 2 and _open_syllable(s[0]) and s[1] in _AS_FINAL:
        s = unicodedata.normalize("NFC", s[0] + _AS_FINAL[s[1]])
    s = unicodedata.normalize("NFKC", s.translate(_HOMOGLYPHS).casefold())
    out = []
    for ch in s:
        if ch in _BLANK_LETTERS and len(s) == 1:
            continue
        if ch < "\u0080" or ord(ch) in _SYLLABLES or _is_jamo(ch):
            bare = ch
        else:  # Latin and other letters: "é" counts as "e"
            bare = "".join(
                c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)
            )
        for c in bare:
            if c in _LEET_SYMBOLS or unicodedata.category(c)[0] in "LN":
                out.append(c)
    return "".join(out)


def fold(text: str) -> tuple[Folded, Folded]:
    """The plain folded form of ``text`` and its leet form (for Latin-only words)."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        # Most characters (ASCII, Hangul syllables) never join the one before: skip the call.
        while j < n and not (text[j] < "\u0300" or "\uac00" <= text[j] <= "\ud7a3"):
            if not _joins(text, i, j):
                break
            j += 1
        for c in _fold_unit(text[i:j]):
            chars.append(c)
            starts.append(i)
            ends.append(j)
        i = j
    keep = [k for k, c in enumerate(chars) if c not in _LEET_SYMBOLS]
    plain = Folded(
        "".join(chars[k] for k in keep),
        tuple(starts[k] for k in keep),
        tuple(ends[k] for k in keep),
    )
    leet = Folded("".join(chars).translate(_LEET), tuple(starts), tuple(ends))
    return plain, leet


def fold_word(word: str) -> tuple[str, bool]:
    """A listed word's folded form and whether it is matched in the leet form."""
    plain, _ = fold(word)
    if is_latin(plain.text):
        return plain.text.translate(_LEET), True
    return plain.text, False


def is_latin(folded: str) -> bool:
    return bool(folded) and all("a" <= c <= "z" for c in folded)


@dataclass(frozen=True)
class Hit:
    """A listed word found in a text: ``start``/``end`` are offsets into the text as given."""

    word_id: int
    word: str
    reason: str
    scope: str  # GLOBAL or the department
    mode: str
    start: int
    end: int


@dataclass(frozen=True)
class _Entry:
    word_id: int
    word: str
    reason: str
    scope: str
    mode: str
    needle: str  # what is searched: casefolded word, or its folded form
    leet: bool  # normalised Latin word: searched in the leet form
    key: str  # the folded form: one hit per stretch of text and word, whatever the list


def _casefolded(text: str) -> Folded:
    folded = text.casefold()
    if len(folded) == len(text):  # the usual case: one character for one
        span = tuple(range(len(text)))
        return Folded(folded, span, tuple(i + 1 for i in span))
    chars = [(c, i) for i, ch in enumerate(text) for c in ch.casefold()]
    return Folded(
        "".join(c for c, _ in chars), tuple(i for _, i in chars), tuple(i + 1 for _, i in chars)
    )


class WordList:
    """The words that apply to one department, ready to search texts with."""

    def __init__(self, rows: Iterable[ForbiddenWord]) -> None:
        entries = []
        for r in rows:
            key, leet = fold_word(r.word)
            needle = r.word.casefold() if r.mode == "exact" else key
            if needle:
                scope = r.department or GLOBAL
                entries.append(_Entry(r.id, r.word, r.reason, scope, r.mode, needle, leet, key))
        # A department's own entry wins over a global one for the same stretch of text.
        entries.sort(key=lambda e: e.scope == GLOBAL)
        self._entries = tuple(entries)

    @classmethod
    def load(cls, session: Session, department: str | None) -> WordList:
        """The active global words and, with ``department``, that department's."""
        scope: ColumnElement[bool] = ForbiddenWord.department.is_(None)
        if department is not None:
            scope = or_(scope, ForbiddenWord.department == department)
        query = select(ForbiddenWord).where(ForbiddenWord.active.is_(True), scope)
        return cls(session.scalars(query.order_by(ForbiddenWord.id)))

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, text: str) -> list[Hit]:
        """Every occurrence of every word, by position in ``text``."""
        exact: Folded | None = None
        plain: Folded | None = None
        leet: Folded | None = None
        hits: list[Hit] = []
        seen: set[tuple[int, int, str]] = set()
        for e in self._entries:
            if e.mode == "exact":
                hay = exact = exact or _casefolded(text)
            else:
                if plain is None or leet is None:
                    plain, leet = fold(text)
                hay = leet if e.leet else plain
            i = hay.text.find(e.needle)
            while i >= 0:
                start, end = hay.span(i, len(e.needle))
                if (start, end, e.key) not in seen:
                    seen.add((start, end, e.key))
                    hits.append(Hit(e.word_id, e.word, e.reason, e.scope, e.mode, start, end))
                i = hay.text.find(e.needle, i + len(e.needle))
        hits.sort(key=lambda h: (h.start, h.end, h.word_id))
        return hits
