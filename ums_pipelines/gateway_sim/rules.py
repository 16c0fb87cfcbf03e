"""Provider rules: what a relay rejects up front and what happens to what it accepts.

Pure functions, no I/O, so the HTTP and SMTP front ends share them and tests can call
them directly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ums_pipelines.gateway_sim import codes
from ums_pipelines.gateway_sim.config import Endpoint, SimConfig

__all__ = [
    "ALIMTALK_MAX_BUTTONS",
    "ALIMTALK_MAX_CHARS",
    "LMS_MAX_BYTES",
    "SMS_MAX_BYTES",
    "SUBJECT_MAX_BYTES",
    "Outcome",
    "Rejection",
    "alimtalk_outcome",
    "check_alimtalk",
    "check_sms",
    "cp949_length",
    "email_outcome",
    "fraction",
    "handset_outcome",
    "is_kakao_user",
    "mask_phone",
    "message_id",
    "relay_outcome",
]

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SUBJECT_MAX_BYTES = 40
ALIMTALK_MAX_CHARS = 1000
ALIMTALK_MAX_BUTTONS = 5

_MOBILE = re.compile(r"01[016789]\d{7,8}")
_SENDER = re.compile(r"\d{8,11}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a relay refused one message of a batch."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the handset receipt of an accepted message will say."""

    delivered: bool
    code: str | None = None
    reason: str | None = None

    @property
    def status(self) -> str:
        return "delivered" if self.delivered else "failed"


_DELIVERED = Outcome(delivered=True)


def fraction(seed: int, purpose: str, key: str) -> float:
    """A number in [0, 1) fixed by (seed, purpose, key).

    ``random`` would make outcomes depend on arrival order; a hash makes each one
    depend only on the message, so retries and re-runs see the same fate. The
    purpose keeps the draws for different decisions independent of each other.
    """
    digest = hashlib.sha256(f"{seed}\x1f{purpose}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def message_id(seed: int, channel: str, client_key: str) -> str:
    """The provider's id for a message; stable across runs for the same seed."""
    digest = hashlib.sha256(f"{seed}\x1fid\x1f{client_key}".encode()).hexdigest()
    return f"{channel[:1].upper()}{digest[:23]}"


def mask_phone(number: str) -> str:
    """``01012345678`` -> ``010-****-5678``; anything too short to mask safely -> ``***``."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 9:
        return "***"
    return f"{digits[:3]}-{'*' * (len(digits) - 7)}-{digits[-4:]}"


def cp949_length(text: str) -> int:
    """Bytes the text takes in CP949 (Hangul 2, ASCII 1); raises on unencodable text."""
    return len(text.encode("cp949"))


def _first_unencodable(text: str) -> int | None:
    try:
        text.encode("cp949")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _encoding_rejection(field: str, text: str) -> Rejection | None:
    position = _first_unencodable(text)
    if position is None:
        return None
    char = text[position]
    return Rejection(
        codes.E_ENCODING,
        f"{field} has a character outside CP949 at position {position} (U+{ord(char):04X})",
    )


def check_sms(
    config: SimConfig, kind: str, sender: str, recipient: str, subject: str | None, text: str
) -> Rejection | None:
    """The relay's per-message checks, in the order a relay applies them."""
    if _MOBILE.fullmatch(recipient) is None:
        return Rejection(codes.E_RECIPIENT, "recipient is not a Korean mobile number")
    for field, value in (("text", text), ("subject", subject or "")):
        rejection = _encoding_rejection(field, value)
        if rejection is not None:
            return rejection
    size = _size_rejection(kind, subject, text)
    if size is not None:
        return size
    if config.registered_senders is None:
        if _SENDER.fullmatch(sender) is None:
            return Rejection(codes.E_SENDER, "sender number must have 8-11 digits")
    elif sender not in config.registered_senders:
        return Rejection(codes.E_SENDER, "unregistered sender number")
    return None


def _size_rejection(kind: str, subject: str | None, text: str) -> Rejection | None:
    if not text:
        return Rejection(codes.E_SIZE, "text is empty")
    length = cp949_length(text)
    if kind == "SMS":
        if subject:
            return Rejection(codes.E_SIZE, "an SMS cannot have a subject; send it as LMS")
        if length > SMS_MAX_BYTES:
            return Rejection(codes.E_SIZE, f"SMS text is {length} bytes, limit {SMS_MAX_BYTES}")
        return None
    if length > LMS_MAX_BYTES:
        return Rejection(codes.E_SIZE, f"LMS text is {length} bytes, limit {LMS_MAX_BYTES}")
    if subject and cp949_length(subject) > SUBJECT_MAX_BYTES:
        return Rejection(
            codes.E_SIZE,
            f"subject is {cp949_length(subject)} bytes, limit {SUBJECT_MAX_BYTES}",
        )
    return None


def check_alimtalk(recipient: str, text: str, button_count: int) -> Rejection | None:
    """Kakao's up-front checks; membership is only known at delivery (see alimtalk_outcome)."""
    if _MOBILE.fullmatch(recipient) is None:
        return Rejection(codes.K_RECIPIENT, "recipient is not a Korean mobile number")
    if not text:
        return Rejection(codes.K_SIZE, "text is empty")
    if len(text) > ALIMTALK_MAX_CHARS:
        return Rejection(
            codes.K_SIZE, f"text is {len(text)} characters, limit {ALIMTALK_MAX_CHARS}"
        )
    if button_count > ALIMTALK_MAX_BUTTONS:
        return Rejection(codes.K_SIZE, f"{button_count} buttons, limit {ALIMTALK_MAX_BUTTONS}")
    return None


def handset_outcome(
    config: SimConfig, client_key: str, endpoint: Endpoint | None = None
) -> Outcome:
    """Delivered or not at the handset; ``endpoint``'s own share when it has one."""
    rate = config.failure_rate
    if endpoint is not None:
        rate = config.failure_rates.get(endpoint, rate)
    if fraction(config.seed, "handset", client_key) < rate:
        return Outcome(delivered=False, code=codes.E_HANDSET, reason="handset unreachable")
    return _DELIVERED


def relay_outcome(config: SimConfig, client_key: str) -> Outcome:
    """An SMS/LMS/MMS's fate: ``handset_outcome``, with the failure spread over the
    relay's receipt codes (and so its stages) when ``stage_failures`` is on."""
    outcome = handset_outcome(config, client_key, "sms")
    if outcome.delivered or not config.stage_failures:
        return outcome
    choices = codes.receipt_failures(codes.RELAY)
    pick = choices[int(fraction(config.seed, "failure-code", client_key) * len(choices))]
    return Outcome(delivered=False, code=pick.code, reason=pick.meaning)


def is_kakao_user(config: SimConfig, recipient: str) -> bool:
    """Keyed on the number, not the message: a non-user stays one on every send."""
    return fraction(config.seed, "kakao", recipient) >= config.kakao_non_user_rate


def alimtalk_outcome(config: SimConfig, client_key: str, recipient: str) -> Outcome:
    if not is_kakao_user(config, recipient):
        return Outcome(delivered=False, code=codes.K_NOT_A_USER, reason="not a KakaoTalk user")
    return handset_outcome(config, client_key, "alimtalk")


def email_outcome(config: SimConfig, recipient: str) -> Outcome:
    """Mail either lands or bounces; there is no handset to be unreachable."""
    domain = recipient.rpartition("@")[2].lower().rstrip(">")
    bounce = {d.lower() for d in config.bounce_domains}
    if domain in bounce or any(domain.endswith("." + d) for d in bounce):
        return Outcome(
            delivered=False, code=codes.SMTP_MAILBOX_UNAVAILABLE, reason="mailbox unavailable"
        )
    return _DELIVERED
