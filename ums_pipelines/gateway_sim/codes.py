"""Every error code the simulated providers can return, in one registry.

The simulator takes each code it answers with (a per-message rejection, a request-level
error, a failure receipt at a given stage) from here, never from a literal, so the codes
it can return are enumerable: ``all_codes()``. ``ums_pipelines.channels.errors`` maps
each of them to what the send engine does, and a test fails for a code without a mapping.

The shapes follow the real providers: Kakao bizmessage's four-digit result codes
(AlimTalk, FriendTalk and brand message share them), RCS Biz Center's five-digit codes
(the 64xxx request errors are its published list; the 60xxx delivery results are the
simulator's own, in the same numbering), FCM HTTP v1 ``FcmError`` error codes and
google.rpc statuses, APNs ``reason`` strings, SMTP reply codes, and the relay's ``E-*``
codes. A provider added to the simulator registers its codes here with ``register``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "APNS",
    "DM",
    "FCM",
    "KAKAO",
    "PROVIDERS",
    "RCS",
    "RELAY",
    "SMTP",
    "ProviderCode",
    "Where",
    "all_codes",
    "failure_stage",
    "lookup",
    "receipt_failures",
    "register",
]

# Where a code shows up: a per-message result of a send, a refusal of the whole
# request, or a failure receipt (with its stage).
Where = Literal["message", "request", "receipt"]
Stage = Literal["relay", "carrier", "handset"]

RELAY = "relay"  # SMS / LMS / MMS relay
KAKAO = "kakao"  # Kakao bizmessage: AlimTalk, FriendTalk, brand message
RCS = "rcs"  # RCS Biz Center
FCM = "fcm"  # Firebase Cloud Messaging HTTP v1
APNS = "apns"  # Apple Push Notification service
SMTP = "smtp"  # the mail system
DM = "dm"  # the print vendor (paper letters)
PROVIDERS = (RELAY, KAKAO, RCS, FCM, APNS, SMTP, DM)


@dataclass(frozen=True, slots=True)
class ProviderCode:
    provider: str
    code: str
    meaning: str
    where: tuple[Where, ...]
    http_status: int | None = None
    stages: tuple[Stage, ...] = ()


_REGISTRY: dict[tuple[str, str], ProviderCode] = {}


def register(
    provider: str,
    code: str,
    meaning: str,
    where: tuple[Where, ...] = ("message",),
    http_status: int | None = None,
    stages: tuple[Stage, ...] = (),
) -> str:
    """Add one code and return it, so a simulator module can name it as a constant."""
    if provider not in PROVIDERS:
        raise ValueError(f"provider: {provider!r} is not one of {', '.join(PROVIDERS)}")
    if "receipt" in where and not stages:
        raise ValueError(f"stages: receipt code {provider}/{code} needs its stage(s)")
    entry = ProviderCode(provider, code, meaning, where, http_status, stages)
    known = _REGISTRY.get((provider, code))
    if known is not None and known != entry:
        raise ValueError(f"code: {provider}/{code} is already registered differently")
    _REGISTRY[(provider, code)] = entry
    return code


def lookup(provider: str, code: str) -> ProviderCode | None:
    return _REGISTRY.get((provider, code))


def receipt_failures(provider: str) -> list[ProviderCode]:
    """The failure codes a provider's receipts can carry, in a stable order."""
    return [c for c in all_codes() if c.provider == provider and "receipt" in c.where]


def failure_stage(code: str | None) -> str | None:
    """The stage a failure receipt with this code is reported at (a code means the same
    stage for every provider that registers it), or None for a code no receipt has."""
    for entry in _REGISTRY.values():
        if entry.code == code and entry.stages:
            return entry.stages[0]
    return None


def all_codes() -> list[ProviderCode]:
    return sorted(_REGISTRY.values(), key=lambda c: (c.provider, c.code))


_R: tuple[Where, ...] = ("request",)
_M: tuple[Where, ...] = ("message",)
_RECEIPT: tuple[Where, ...] = ("receipt",)

# --- SMS/LMS/MMS relay -------------------------------------------------------------
E_REQUEST = register(RELAY, "E-REQUEST", "malformed request or field", _R, 400)
E_AUTH = register(RELAY, "E-AUTH", "missing or invalid bearer token", _R, 401)
E_NOT_FOUND = register(RELAY, "E-NOT-FOUND", "no accepted message has this key", _R, 404)
E_RATE = register(RELAY, "E-RATE", "rate limit exceeded", _R, 429)
E_UNAVAILABLE = register(RELAY, "E-UNAVAILABLE", "service temporarily unavailable", _R, 503)
E_RECIPIENT = register(RELAY, "E-RECIPIENT", "recipient is not a Korean mobile number", _M)
E_ENCODING = register(RELAY, "E-ENCODING", "a character outside CP949", _M)
E_SIZE = register(RELAY, "E-SIZE", "text, subject or message size over the limit", _M)
E_SENDER = register(RELAY, "E-SENDER", "unregistered or malformed sender number", _M)
# Per message (unknown file id, more than 3) and per upload (format, size, pixels).
E_IMAGE = register(
    RELAY, "E-IMAGE", "MMS image format, size, pixels or count", ("message", "request"), 400
)
E_SPAM = register(RELAY, "E-SPAM", "blocked by the relay's spam filter", _RECEIPT, None, ("relay",))
E_NO_NUMBER = register(
    RELAY, "E-NO-NUMBER", "number not in service (결번)", _RECEIPT, None, ("carrier",)
)
E_CARRIER_SPAM = register(
    RELAY, "E-CARRIER-SPAM", "blocked by the carrier's spam filter", _RECEIPT, None, ("carrier",)
)
E_HANDSET = register(
    RELAY, "E-HANDSET", "handset unreachable (off, out of coverage)", _RECEIPT, None, ("handset",)
)
E_EXPIRED = register(
    RELAY, "E-EXPIRED", "not delivered within the validity period", _RECEIPT, None, ("handset",)
)

# --- Kakao bizmessage (AlimTalk, FriendTalk, brand message) -------------------------
# Request-level errors of the simulated gateway share the relay's shape.
for _code, _meaning, _status in (
    ("E-REQUEST", "malformed request or field", 400),
    ("E-AUTH", "missing or invalid bearer token", 401),
    ("E-RATE", "rate limit exceeded", 429),
    ("E-UNAVAILABLE", "service temporarily unavailable", 503),
):
    register(KAKAO, _code, _meaning, _R, _status)
K_RECIPIENT = register(KAKAO, "E-RECIPIENT", "recipient is not a Korean mobile number", _M)
K_SIZE = register(KAKAO, "E-SIZE", "text or button count over the limit", _M)
K_INVALID_SENDER_KEY = register(KAKAO, "1003", "InvalidSenderKey", _M)
K_DELETED_SENDER = register(KAKAO, "1006", "DeletedSender", _M)
K_STOPPED_SENDER = register(KAKAO, "1007", "StoppedSender", _M)
K_BLOCKED_PROFILE = register(KAKAO, "1021", "BlockedProfile (channel blocked by Kakao)", _M)
K_DEACTIVATED_PROFILE = register(KAKAO, "1022", "DeactivatedProfile", _M)
K_NO_FRIENDSHIP = register(
    KAKAO, "2003", "FailedToSendMessageByNoFriendship (FriendTalk: not a channel friend)", _M
)
K_TEMPLATE_MISMATCH = register(KAKAO, "2004", "FailedToMatchTemplate", _M)
K_INVALID_PHONE = register(KAKAO, "3008", "InvalidPhoneNumber", _M)
K_MESSAGE_EMPTY = register(KAKAO, "3013", "MessageEmpty", _M)
K_MESSAGE_TOO_LONG = register(KAKAO, "3014", "MessageLengthOverLimit", _M)
K_TEMPLATE_NOT_FOUND = register(KAKAO, "3015", "TemplateNotFound", _M)
K_NO_MATCHED_TEMPLATE = register(KAKAO, "3016", "NoMatchedTemplate", _M)
K_NOT_A_USER = register(
    KAKAO,
    "3018",
    "NoSendAvailable: not a KakaoTalk user",
    ("message", "receipt"),
    None,
    ("handset",),
)
K_NO_USER = register(
    KAKAO, "3019", "MessageNoUser: no KakaoTalk account", _RECEIPT, None, ("handset",)
)
K_USER_BLOCKED = register(
    KAKAO,
    "3020",
    "MessageUserBlockedAlimtalk: the user blocked AlimTalk",
    _RECEIPT,
    None,
    ("handset",),
)
K_OLD_CLIENT = register(
    KAKAO,
    "3021",
    "MessageNotSupportedKakaotalk: KakaoTalk version too old",
    _RECEIPT,
    None,
    ("handset",),
)
K_NOT_SEND_TIME = register(
    KAKAO, "3022", "NoSendAvailableTime: FriendTalk/brand message outside 08:00-20:50", _M
)
K_INVALID_IMAGE = register(KAKAO, "3024", "MessageInvalidImage", ("message", "request"), 400)
K_AD_FLAG = register(
    KAKAO, "E-AD-FLAG", "FriendTalk/brand message without the advertising flag (adFlag Y)", _M
)
K_BRAND_DAILY = register(
    KAKAO, "E-DAILY-LIMIT", "brand message: at most one per recipient per day (KST)", _M
)
K_VARIABLE_TOO_LONG = register(KAKAO, "3025", "ExceedMaxVariableLength", _M)
K_BUTTON_MISMATCH = register(KAKAO, "3027", "NoMatchedTemplateButton", _M)
K_SYSTEM = register(KAKAO, "9999", "system error (temporary)", ("message", "request"), 500)
K_HANDSET = register(
    KAKAO, "E-HANDSET", "delivered to Kakao, not to the handset", _RECEIPT, None, ("handset",)
)

# --- RCS Biz Center -----------------------------------------------------------------
RCS_MISSING_BRAND_KEY = register(RCS, "64001", "Missing X-RCS-BrandKey header", _R, 400)
RCS_INVALID_BRAND_KEY = register(RCS, "64002", "Invalid Brand Key", _R, 401)
RCS_MISSING_BODY = register(RCS, "64301", "Missing Body data", _R, 400)
RCS_INVALID_JSON = register(RCS, "64302", "Invalid JSON format", _R, 400)
RCS_INVALID_ATTRIBUTE = register(
    RCS, "64303", "Invalid type of Attribute", ("request", "message"), 400
)
RCS_OVER_SIZE = register(RCS, "64304", "Over specified size", _M)
RCS_INVALID_MDN = register(RCS, "64308", "Invalid MDN format", _M)
RCS_INVALID_CHATBOT = register(RCS, "64105", "Invalid chatbotId (sender not registered)", _M)
RCS_INVALID_MESSAGEBASE = register(RCS, "64106", "Invalid messagebaseId (template)", _M)
RCS_RATE = register(RCS, "64901", "Too many requests", _R, 429)
RCS_INTERNAL = register(RCS, "65001", "Internal server error", _R, 500)
RCS_UNAVAILABLE = register(RCS, "65003", "Service unavailable", _R, 503)
RCS_NOT_CAPABLE = register(
    RCS,
    "60101",
    "not an RCS user: no RCS-capable handset or RCS off",
    ("message", "receipt"),
    None,
    ("carrier",),
)
RCS_CHATBOT_BLOCKED = register(
    RCS, "60102", "the user blocked this chatbot", _RECEIPT, None, ("handset",)
)
RCS_EXPIRED = register(RCS, "60201", "not delivered before its TTL", _RECEIPT, None, ("handset",))
RCS_HANDSET = register(RCS, "60202", "handset unreachable", _RECEIPT, None, ("handset",))

# --- FCM HTTP v1 --------------------------------------------------------------------
FCM_UNSPECIFIED = register(FCM, "UNSPECIFIED_ERROR", "no more information", _M, 500)
FCM_INVALID_ARGUMENT = register(
    FCM, "INVALID_ARGUMENT", "invalid message field or payload", ("message", "request"), 400
)
FCM_UNREGISTERED = register(FCM, "UNREGISTERED", "the token is no longer valid", _M, 404)
FCM_SENDER_ID_MISMATCH = register(
    FCM, "SENDER_ID_MISMATCH", "the token belongs to another sender", _M, 403
)
FCM_QUOTA_EXCEEDED = register(FCM, "QUOTA_EXCEEDED", "sending limit exceeded", _R, 429)
FCM_UNAVAILABLE = register(FCM, "UNAVAILABLE", "the server is overloaded", _R, 503)
FCM_INTERNAL = register(FCM, "INTERNAL", "unknown internal error", _R, 500)
FCM_THIRD_PARTY_AUTH = register(
    FCM, "THIRD_PARTY_AUTH_ERROR", "APNs certificate or web push key invalid", _M, 401
)
# google.rpc statuses the simulator answers with and no FcmError detail.
FCM_UNAUTHENTICATED = register(FCM, "UNAUTHENTICATED", "missing or invalid OAuth token", _R, 401)
FCM_NOT_FOUND = register(FCM, "NOT_FOUND", "requested entity was not found", _M, 404)
FCM_RESOURCE_EXHAUSTED = register(FCM, "RESOURCE_EXHAUSTED", "quota exceeded", _R, 429)
FCM_HANDSET = register(
    FCM, "E-HANDSET", "accepted, not delivered to the device", _RECEIPT, None, ("handset",)
)

# --- APNs (reason strings) ----------------------------------------------------------
for _reason, _status, _meaning in (
    ("BadCollapseId", 400, "collapse identifier too long"),
    ("BadDeviceToken", 400, "the device token is invalid"),
    ("BadExpirationDate", 400, "bad apns-expiration"),
    ("BadMessageId", 400, "bad apns-id"),
    ("BadPriority", 400, "bad apns-priority"),
    ("BadTopic", 400, "bad apns-topic"),
    ("DeviceTokenNotForTopic", 400, "the token is not for this topic"),
    ("DuplicateHeaders", 400, "a header was repeated"),
    ("IdleTimeout", 400, "idle timeout"),
    ("InvalidPushType", 400, "bad apns-push-type"),
    ("MissingDeviceToken", 400, "no device token in the path"),
    ("MissingTopic", 400, "apns-topic required"),
    ("PayloadEmpty", 400, "empty payload"),
    ("TopicDisallowed", 400, "pushing to this topic is not allowed"),
    ("BadCertificate", 403, "bad certificate"),
    ("BadCertificateEnvironment", 403, "certificate for the other environment"),
    ("ExpiredProviderToken", 403, "the provider token is stale"),
    ("Forbidden", 403, "the action is not allowed"),
    ("InvalidProviderToken", 403, "the provider token is not valid"),
    ("MissingProviderToken", 403, "no provider certificate or token"),
    ("UnrelatedKeyIdInToken", 403, "key id does not match the team"),
    ("BadPath", 404, "bad :path"),
    ("MethodNotAllowed", 405, "only POST is allowed"),
    ("ExpiredToken", 410, "the device token has expired"),
    ("Unregistered", 410, "the device token is no longer active for the topic"),
    ("PayloadTooLarge", 413, "payload over 4096 bytes"),
    ("TooManyProviderTokenUpdates", 429, "provider token updated too often"),
    ("TooManyRequests", 429, "too many requests to the same device token"),
    ("InternalServerError", 500, "internal server error"),
    ("ServiceUnavailable", 503, "the service is unavailable"),
    ("Shutdown", 503, "the APNs server is shutting down"),
):
    register(APNS, _reason, _meaning, ("message", "request"), _status)
register(APNS, "E-HANDSET", "accepted, not delivered to the device", _RECEIPT, None, ("handset",))

# --- SMTP (reply codes) -------------------------------------------------------------
SMTP_NOT_AVAILABLE = register(SMTP, "421", "service not available, closing channel", _R, None)
SMTP_MAILBOX_BUSY = register(SMTP, "450", "mailbox unavailable (busy)", _M)
SMTP_LOCAL_ERROR = register(SMTP, "451", "local error in processing", _M)
SMTP_TOO_MANY_RECIPIENTS = register(SMTP, "452", "insufficient storage / too many recipients", _M)
SMTP_MAILBOX_UNAVAILABLE = register(
    SMTP, "550", "mailbox unavailable", ("message", "receipt"), None, ("handset",)
)
SMTP_USER_NOT_LOCAL = register(SMTP, "551", "user not local", _M)
SMTP_STORAGE_EXCEEDED = register(SMTP, "552", "exceeded storage allocation / message too big", _M)
SMTP_NAME_NOT_ALLOWED = register(SMTP, "553", "mailbox name not allowed", _M)
SMTP_TRANSACTION_FAILED = register(SMTP, "554", "transaction failed", _M)

# --- International SMS (the relay's /sms/v1/international endpoint) ------------------
E_INTL_NUMBER = register(RELAY, "E-INTL-NUMBER", "not a valid E.164 number abroad", _M)

# --- DM print vendor ----------------------------------------------------------------
for _code, _meaning, _status in (
    ("E-REQUEST", "malformed request or field", 400),
    ("E-AUTH", "missing or invalid bearer token", 401),
):
    register(DM, _code, _meaning, _R, _status)
DM_FORMAT = register(DM, "E-DM-FORMAT", "batch file framing or record layout", _R, 400)
DM_COUNT = register(DM, "E-DM-COUNT", "trailer record count differs from the file", _R, 400)
DM_PAGES = register(DM, "E-DM-PAGES", "PDF pages differ from the batch file", _R, 400)
DM_POSTCODE = register(DM, "E-DM-POSTCODE", "postcode is not five digits", _M)
DM_ADDRESS = register(DM, "E-DM-ADDRESS", "address is empty", _M)
DM_RETURNED = register(
    DM, "E-DM-RETURNED", "letter returned to sender (반송)", _RECEIPT, None, ("handset",)
)
