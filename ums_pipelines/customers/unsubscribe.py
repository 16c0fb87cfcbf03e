"""E-mail one-click unsubscribe (RFC 8058): the signed token an advertising e-mail links
to, and the opt-out it records.

A token is ``<payload>.<mac>``, both base64url without padding: the payload is
``v1:<customer id>:<purpose>``, the MAC the first 16 bytes of its HMAC-SHA256 under
``UMS_UNSUBSCRIBE_SECRET``. It carries the customer id and the purpose and nothing
personal beyond the id; it never expires, because the law wants the opt-out free and
working for as long as the customer keeps the mail. A token is made only with the
secret set, and a wrong or truncated one is refused (``UnsubscribeError``).

The short-link server answers ``GET /u/{token}`` with a confirmation page (mail scanners
fetch links, so a GET records nothing) and ``POST /u/{token}`` (the mail client's
``List-Unsubscribe=One-Click``, or the page's button) by recording the opt-out:
channel e-mail, the token's purpose, source ``email_unsubscribe``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.contact import OptOut

__all__ = [
    "ONE_CLICK",
    "SOURCE",
    "UnsubscribeError",
    "UnsubscribeToken",
    "list_unsubscribe_headers",
    "make_token",
    "read_token",
    "record_unsubscribe",
    "secret_of",
    "unsubscribe_url",
]

SOURCE = "email_unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"
_VERSION = "v1"
_MAC_BYTES = 16  # 128 bits: forging one is as hard as guessing the secret's output


class UnsubscribeError(ValueError):
    """A token that is not ours, or no secret to make or check one with."""


@dataclass(frozen=True, slots=True)
class UnsubscribeToken:
    customer_id: str
    purpose: str


def secret_of(settings: Settings) -> bytes:
    if settings.unsubscribe_secret is None or not settings.unsubscribe_secret.get_secret_value():
        raise UnsubscribeError("unsubscribe_secret: set UMS_UNSUBSCRIBE_SECRET in the environment")
    return settings.unsubscribe_secret.get_secret_value().encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(secret: bytes, customer_id: str, purpose: str = Purpose.ADVERTISING) -> str:
    if not customer_id or ":" in customer_id:
        raise UnsubscribeError("customer_id: empty or holding ':'")
    if purpose not in {p.value for p in Purpose}:
        raise UnsubscribeError(f"purpose: {purpose!r} is not a message purpose")
    payload = f"{_VERSION}:{customer_id}:{purpose}".encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read_token(secret: bytes, token: str) -> UnsubscribeToken:
    """The token's customer and purpose; UnsubscribeError unless we signed it."""
    head, dot, tail = token.partition(".")
    if not dot or len(token) > 200:
        raise UnsubscribeError("token: malformed")
    try:
        payload, mac = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        raise UnsubscribeError("token: malformed") from None
    if not hmac.compare_digest(_mac(secret, payload), mac):
        raise UnsubscribeError("token: signature does not match")
    version, customer_id, purpose = [*payload.decode("utf-8", "replace").split(":"), "", ""][:3]
    if version != _VERSION or not customer_id or purpose not in {p.value for p in Purpose}:
        raise UnsubscribeError("token: unknown version or content")
    return UnsubscribeToken(customer_id, purpose)


def unsubscribe_url(settings: Settings, customer_id: str, purpose: str = "advertising") -> str:
    """The customer's one-click address on the short-link server."""
    token = make_token(secret_of(settings), customer_id, purpose)
    return f"{settings.shortlink_base_url.rstrip('/')}/u/{token}"


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers of an advertising e-mail (the message must also be
    DKIM-signed over them for mail providers to offer the one-click button)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}


def record_unsubscribe(
    session: Session, token: UnsubscribeToken, *, at: datetime, actor: str = "customer"
) -> OptOut | None:
    """The e-mail opt-out of the token's purpose; None if one is already active."""
    return record_opt_out(
        session,
        token.customer_id,
        OptOutScope("email", token.purpose),
        source=SOURCE,
        reference=None,
        reason="one-click unsubscribe from an e-mail",
        at=at,
        now=at,
        actor=actor,
    )
