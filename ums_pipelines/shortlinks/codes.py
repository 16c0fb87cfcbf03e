"""Short-link codes: random, never derived from the message, and cheap to shape-check.

The alphabet is base62 without the characters people misread when they retype a link
from a printed letter or a screenshot (0/O/o, 1/l/I): 56 symbols. Twelve of them carry
12 * log2(56) ≈ 69.7 bits, so a guessed code hits one of a billion live links with odds
below 1 in 10^12, while the link in an SMS stays short.
"""

from __future__ import annotations

import math
import re
import secrets

__all__ = ["ALPHABET", "CODE_BITS", "CODE_LENGTH", "is_code", "new_code"]

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
CODE_LENGTH = 12
CODE_BITS = CODE_LENGTH * math.log2(len(ALPHABET))

_SHAPE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")


_BASE = len(ALPHABET)
_SPACE = _BASE**CODE_LENGTH


def new_code() -> str:
    """A fresh code: one uniform draw from the OS's CSPRNG (``secrets``) over all codes,
    written in the alphabet. One draw rather than a ``choice`` per symbol: a 100,000-row
    split makes 100,000 codes, and that was most of the cost of rendering its links."""
    n = secrets.randbelow(_SPACE)
    symbols = []
    for _ in range(CODE_LENGTH):
        n, digit = divmod(n, _BASE)
        symbols.append(ALPHABET[digit])
    return "".join(symbols)


def is_code(text: object) -> bool:
    """Whether ``text`` has a code's shape: the redirect service asks the store about
    nothing else (path tricks, huge strings and other garbage end here)."""
    return isinstance(text, str) and len(text) == CODE_LENGTH and _SHAPE.fullmatch(text) is not None
