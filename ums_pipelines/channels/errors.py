"""One error taxonomy for every provider: what the send engine does with each code.

``classify(provider, code)`` answers with one of four classes:

- ``retryable``: the provider may take it later (busy, 5xx, transport); back off and retry.
- ``permanent``: no retry can fix it. ``falls_back`` says whether the chain's next leg
  still goes: yes for a problem with this message on this channel (too long, bad
  number), no where the next leg would be wrong too (night-time ad ban) or where the
  cause is our own configuration (bad credentials), which must be fixed, not routed
  round at the cost of every message.
- ``fall_back``: this customer cannot be reached on this channel (not a KakaoTalk user,
  no RCS-capable handset): the next leg at once, without retries.
- ``retire_token``: the push token is invalid; it is cleared from the customer and the
  message falls back.

A code with no mapping is never silently mapped: it gets a safe default (retryable if it
looks like a transient transport or 5xx error, else permanent with fall back), is logged
as unmapped (provider and code only, masked) and counted in ``unmapped_counts()``, and
its reason says so, so it is also recorded on the message. Providers add their codes to
``gateway_sim.codes`` and their mappings here with ``map_codes``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ums_pipelines.dispatch.record import SendOutcome
from ums_pipelines.gateway_sim import codes as c
from ums_pipelines.masking import mask_text

__all__ = [
    "ADAPTER_CODES",
    "FALL_BACK",
    "MAPPINGS",
    "PERMANENT",
    "RETIRE_TOKEN",
    "RETRYABLE",
    "ErrorClass",
    "Kind",
    "classify",
    "map_codes",
    "outcome_for",
    "provider_of",
    "unmapped_counts",
]

log = logging.getLogger(__name__)

Kind = Literal["retryable", "permanent", "fall_back", "retire_token"]
RETRYABLE: Kind = "retryable"
PERMANENT: Kind = "permanent"
FALL_BACK: Kind = "fall_back"
RETIRE_TOKEN: Kind = "retire_token"  # noqa: S105 - a class name, not a secret


@dataclass(frozen=True, slots=True)
class ErrorClass:
    kind: Kind
    reason: str
    falls_back: bool = True
    mapped: bool = True

    @property
    def status(self) -> str:
        """The ``SendOutcome`` status: only retryable codes are retried."""
        return "retry" if self.kind == RETRYABLE else "rejected"


def _retry(reason: str) -> ErrorClass:
    return ErrorClass(RETRYABLE, reason)


def _permanent(reason: str, falls_back: bool = True) -> ErrorClass:
    return ErrorClass(PERMANENT, reason, falls_back)


def _config(reason: str) -> ErrorClass:
    return ErrorClass(PERMANENT, f"configuration: {reason}", falls_back=False)


def _fall_back(reason: str) -> ErrorClass:
    return ErrorClass(FALL_BACK, reason)


def _retire(reason: str) -> ErrorClass:
    return ErrorClass(RETIRE_TOKEN, reason)


# Codes the adapters themselves produce, whichever the provider.
ADAPTER_CODES: dict[str, ErrorClass] = {
    "E-TRANSPORT": _retry("transport error; the provider may not have it"),
    "E-NORESULT": _retry("the provider's answer had no result for this message"),
    "E-SMTP": _retry("SMTP conversation failed"),
    "HTTP-429": _retry("provider busy (429)"),
    "E-DM-FIELD": _permanent("a letter field does not fit the print vendor's batch file"),
    "E-CONTENT": _permanent("an attachment or image could not be read from the content store"),
    # International policy (channels.international): this leg may not go abroad; the
    # chain's next leg (e-mail, push) still reaches the customer.
    "E-INTL-OFF": _permanent("international sends are switched off"),
    "E-INTL-COUNTRY": _permanent("destination country not on the allow-list"),
    "E-INTL-CAP": _permanent("monthly international cap reached"),
}
_HTTP = re.compile(r"HTTP-(\d{3})")

_REQUEST_COMMON: dict[str, ErrorClass] = {
    "E-REQUEST": _config("the provider refused the request's shape"),
    "E-AUTH": _config("provider credentials refused"),
    "E-RATE": _retry("provider rate limit"),
    "E-UNAVAILABLE": _retry("provider temporarily unavailable"),
}

MAPPINGS: dict[str, dict[str, ErrorClass]] = {
    c.RELAY: {
        **_REQUEST_COMMON,
        "E-NOT-FOUND": _retry("status query: not (yet) known to the relay"),
        "E-RECIPIENT": _permanent("not a Korean mobile number"),
        "E-ENCODING": _permanent("character outside CP949"),
        "E-SIZE": _permanent("over the relay's size limit"),
        "E-INTL-NUMBER": _permanent("not a valid number abroad"),
        "E-SENDER": _permanent("sender number not registered"),
        "E-IMAGE": _permanent("MMS image refused"),
        "E-SPAM": _permanent("blocked by the relay's spam filter"),
        "E-NO-NUMBER": _fall_back("number not in service"),
        "E-CARRIER-SPAM": _permanent("blocked by the carrier's spam filter"),
        "E-HANDSET": _fall_back("handset unreachable"),
        "E-EXPIRED": _fall_back("not delivered within the validity period"),
    },
    c.KAKAO: {
        **_REQUEST_COMMON,
        "E-RECIPIENT": _permanent("not a Korean mobile number"),
        "E-SIZE": _permanent("over Kakao's size limit"),
        "1003": _config("invalid Kakao sender key"),
        "1006": _config("Kakao sender profile deleted"),
        "1007": _config("Kakao sender profile stopped"),
        "1021": _config("Kakao channel blocked"),
        "1022": _config("Kakao channel deactivated"),
        "2003": _fall_back("not a friend of the channel (FriendTalk)"),
        "2004": _permanent("text does not match the approved template"),
        "3008": _permanent("invalid phone number"),
        "3013": _permanent("empty message"),
        "3014": _permanent("message over Kakao's length limit"),
        "3015": _permanent("template not found"),
        "3016": _permanent("no matching template"),
        "3018": _fall_back("not a KakaoTalk user"),
        "3019": _fall_back("no KakaoTalk account"),
        "3020": _fall_back("the customer blocked AlimTalk"),
        "3021": _fall_back("KakaoTalk version too old"),
        # The night ban applies to the next leg too: falling back would break the law.
        "3022": _permanent("outside FriendTalk/brand message hours", falls_back=False),
        "3024": _permanent("image refused"),
        "E-AD-FLAG": _config("FriendTalk/brand message sent without the advertising flag"),
        # Another advertisement by the next leg would defeat the daily cap it enforces.
        "E-DAILY-LIMIT": _permanent(
            "the recipient already had today's brand message", falls_back=False
        ),
        "3025": _permanent("variable over its length limit"),
        "3027": _permanent("buttons do not match the template"),
        "9999": _retry("Kakao system error"),
        "E-HANDSET": _fall_back("not delivered to the handset"),
    },
    c.RCS: {
        "64001": _config("RCS brand key header missing"),
        "64002": _config("RCS brand key refused"),
        "64301": _config("RCS request without a body"),
        "64302": _config("RCS request is not valid JSON"),
        "64303": _permanent("RCS attribute of the wrong type"),
        "64304": _permanent("over an RCS size limit"),
        "64308": _permanent("invalid number (MDN)"),
        "64105": _permanent("RCS chatbot (sender) not registered"),
        "64106": _permanent("RCS messagebase (template) not found"),
        "64901": _retry("RCS rate limit"),
        "65001": _retry("RCS Biz Center internal error"),
        "65003": _retry("RCS Biz Center unavailable"),
        "60101": _fall_back("no RCS-capable handset"),
        "60102": _fall_back("the customer blocked this chatbot"),
        "60201": _fall_back("not delivered before its TTL"),
        "60202": _fall_back("handset unreachable"),
    },
    c.FCM: {
        "UNSPECIFIED_ERROR": _permanent("FCM gave no reason"),
        "INVALID_ARGUMENT": _permanent("FCM refused the message"),
        "UNREGISTERED": _retire("push token no longer registered"),
        "SENDER_ID_MISMATCH": _retire("push token belongs to another sender"),
        "NOT_FOUND": _retire("push token not found"),
        "QUOTA_EXCEEDED": _retry("FCM quota exceeded"),
        "RESOURCE_EXHAUSTED": _retry("FCM quota exceeded"),
        "UNAVAILABLE": _retry("FCM unavailable"),
        "INTERNAL": _retry("FCM internal error"),
        "THIRD_PARTY_AUTH_ERROR": _config("APNs certificate or web push key refused by FCM"),
        "UNAUTHENTICATED": _config("FCM credentials refused"),
        "E-HANDSET": _fall_back("not delivered to the device"),
    },
    c.APNS: {
        **{
            reason: _permanent(f"APNs refused the request ({reason})")
            for reason in (
                "BadCollapseId",
                "BadExpirationDate",
                "BadMessageId",
                "BadPriority",
                "DuplicateHeaders",
                "InvalidPushType",
                "MissingDeviceToken",
                "PayloadEmpty",
                "PayloadTooLarge",
                "BadPath",
                "MethodNotAllowed",
            )
        },
        **{
            reason: _config(f"APNs: {reason}")
            for reason in (
                "BadTopic",
                "MissingTopic",
                "TopicDisallowed",
                "BadCertificate",
                "BadCertificateEnvironment",
                "Forbidden",
                "InvalidProviderToken",
                "MissingProviderToken",
                "UnrelatedKeyIdInToken",
            )
        },
        "BadDeviceToken": _retire("APNs device token invalid"),
        "DeviceTokenNotForTopic": _retire("APNs device token is for another app"),
        "ExpiredToken": _retire("APNs device token expired"),
        "Unregistered": _retire("APNs device token no longer active"),
        # A fresh provider token (or a new connection) fixes these.
        "ExpiredProviderToken": _retry("APNs provider token stale"),
        "TooManyProviderTokenUpdates": _retry("APNs provider token updated too often"),
        "IdleTimeout": _retry("APNs connection idle"),
        "TooManyRequests": _retry("APNs: too many requests to this device"),
        "InternalServerError": _retry("APNs internal error"),
        "ServiceUnavailable": _retry("APNs unavailable"),
        "Shutdown": _retry("APNs server shutting down"),
        "E-HANDSET": _fall_back("not delivered to the device"),
    },
    c.DM: {
        "E-REQUEST": _config("the print vendor refused the request's shape"),
        "E-AUTH": _config("print vendor credentials refused"),
        # A batch whose files disagree is our bug; every letter in it would fail alike.
        "E-DM-FORMAT": _config("the print vendor could not read the batch file"),
        "E-DM-COUNT": _config("batch file record count wrong"),
        "E-DM-PAGES": _config("batch file and PDF pages disagree"),
        "E-DM-POSTCODE": _permanent("postcode refused by the print vendor"),
        "E-DM-ADDRESS": _permanent("address refused by the print vendor"),
        "E-DM-RETURNED": _permanent("letter returned to sender"),
    },
    c.SMTP: {
        "421": _retry("mail service not available"),
        "450": _retry("mailbox busy"),
        "451": _retry("local error at the mail server"),
        "452": _retry("mail server out of storage"),
        "550": _fall_back("mailbox unavailable"),
        "551": _fall_back("user not local"),
        "552": _permanent("mailbox full or message too big"),
        "553": _fall_back("mailbox name not allowed"),
        "554": _permanent("mail transaction failed"),
    },
}

_UNMAPPED: Counter[tuple[str, str]] = Counter()
_TRANSIENT_WORDS = ("UNAVAILABLE", "INTERNAL", "TIMEOUT", "THROTTL", "BUSY", "RATE", "TEMP")


def map_codes(provider: str, mapping: Mapping[str, ErrorClass]) -> None:
    """Add (or, for a known code, replace) mappings of a provider's codes."""
    MAPPINGS.setdefault(provider, {}).update(mapping)


def _http(code: str) -> ErrorClass | None:
    match = _HTTP.fullmatch(code)
    if match is None:
        return None
    status = int(match.group(1))
    if status == 429 or status >= 500:
        return _retry(f"provider answered {status}")
    # The whole request was refused (auth, malformed): our side has to change.
    return _config(f"provider refused the request ({status})")


# Whose codes a channel's answers and receipts carry; push by its message type.
_CHANNEL_PROVIDERS = {
    "sms": c.RELAY,
    "alimtalk": c.KAKAO,
    "friendtalk": c.KAKAO,
    "brand": c.KAKAO,
    "rcs": c.RCS,
    "push": c.FCM,
    "email": c.SMTP,
}


def provider_of(channel: str, message_type: str | None = None) -> str:
    """The provider kind ``classify`` wants for a message of ``channel``."""
    if channel == "push" and message_type == "APNS":
        return c.APNS
    return _CHANNEL_PROVIDERS.get(channel, channel)


def classify(provider: str, code: str | None) -> ErrorClass:
    """What to do with ``code`` from ``provider`` (one of ``gateway_sim.codes.PROVIDERS``)."""
    key = code or ""
    known = MAPPINGS.get(provider, {}).get(key) or ADAPTER_CODES.get(key) or _http(key)
    if known is not None:
        return known
    safe = mask_text(key)[:40]
    _UNMAPPED[(provider, safe)] += 1
    # A bare status code: SMTP's 4xx are transient, elsewhere 5xx are; a name saying
    # busy, throttled, unavailable... is the provider's own 429/5xx-like error.
    status = re.fullmatch(r"4\d\d" if provider == c.SMTP else r"5\d\d", key) is not None
    transient = status or any(w in key.upper() for w in _TRANSIENT_WORDS)
    result = (
        ErrorClass(RETRYABLE, "unmapped provider code; retried as transient", mapped=False)
        if transient
        else ErrorClass(
            PERMANENT, "unmapped provider code; treated as permanent, falls back", mapped=False
        )
    )
    seen = _UNMAPPED[(provider, safe)]
    # The first sighting, then every thousandth: visible without flooding the log when a
    # whole bulk batch comes back with the same new code.
    if seen % 1000 == 1:
        log.warning("unmapped %s error code %r (seen %d): %s", provider, safe, seen, result.kind)
    return result


def unmapped_counts() -> dict[tuple[str, str], int]:
    """How often each unmapped (provider, masked code) was seen in this process."""
    return dict(_UNMAPPED)


def outcome_for(
    message_id: int,
    provider: str,
    code: str | None,
    reason: str | None = None,
    retry_after: float | None = None,
) -> SendOutcome:
    """The ``SendOutcome`` of a message the provider did not accept, by its code's class."""
    error = classify(provider, code)
    text = error.reason if not reason else f"{error.reason}: {reason}"
    return SendOutcome(
        message_id,
        error.status,
        code=code,
        reason=text[:500],
        fall_back=error.falls_back,
        retry_after=retry_after,
        retire_token=error.kind == RETIRE_TOKEN,
    )
