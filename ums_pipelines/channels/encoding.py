"""Byte counting as the Korean relays count: EUC-KR/CP949, a Hangul syllable is 2 bytes."""

from __future__ import annotations

__all__ = [
    "LMS_MAX_BYTES",
    "SMS_MAX_BYTES",
    "SUBJECT_MAX_BYTES",
    "NotEncodable",
    "cp949_len",
    "sms_type_for",
]

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40


class NotEncodable(ValueError):
    """Text holds a character the relay cannot carry (most emoji are outside CP949)."""

    def __init__(self, field: str, position: int, char: str) -> None:
        super().__init__(
            f"{field}: character U+{ord(char):04X} at position {position} is outside CP949; "
            "SMS/LMS/MMS cannot carry it"
        )
        self.field = field
        self.position = position


def cp949_len(text: str, field: str = "text") -> int:
    try:
        return len(text.encode("cp949"))
    except UnicodeEncodeError as exc:
        raise NotEncodable(field, exc.start, text[exc.start]) from None


def sms_type_for(text: str, subject: str | None = None) -> str:
    """SMS up to 90 bytes without subject; anything longer or with a subject is an LMS."""
    body_len = cp949_len(text, "text")
    if subject:
        if cp949_len(subject, "subject") > SUBJECT_MAX_BYTES:
            raise ValueError(f"subject: {SUBJECT_MAX_BYTES} bytes at most in EUC-KR")
        kind = "LMS"
    else:
        kind = "SMS" if body_len <= SMS_MAX_BYTES else "LMS"
    if body_len > LMS_MAX_BYTES:
        raise ValueError(f"text: {body_len} bytes, an LMS carries {LMS_MAX_BYTES} at most")
    return kind
