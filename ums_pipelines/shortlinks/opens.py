"""Opens, where the channel can tell: an e-mail's tracking pixel and a push the app reports
opened, both through one opaque token per message on the short-link server.

The token is the message's idempotency key encrypted and authenticated (Fernet, from the
``cryptography`` package) under a key derived from ``UMS_OPENS_SECRET``: the address says
nothing about the customer or the message to whoever reads it, and cannot be forged or
pointed at another message. No table is written when a message is rendered.

* ``GET /o/{token}.gif``: the 1×1 pixel an HTML e-mail embeds (``add_pixel``). Answered
  with the image whatever the token, so a mail never shows a broken image; ``HEAD`` records
  nothing.
* ``POST /o/{token}``: the app, when the customer taps the notification; the push carries
  the address in its data as ``ums_open`` (``OPEN_DATA_KEY``). Answers 204, 404 for a
  token that is not ours.

An open is a ``delivery_events`` row (stage ``handset``, status ``opened``, code
``pixel`` or ``app``), so the contact history and the analytics export carry it like any
receipt; the table's unique (message, stage, status) records it once, the first time.
Mail clients that fetch images through a proxy or ahead of reading (privacy protection)
report opens that were not read: an open is a lower bound of interest, not proof of it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ums_pipelines.channels.payload import Payload, PushOptions
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import DeliveryEvent, Message

__all__ = [
    "OPEN_CHANNELS",
    "OPEN_DATA_KEY",
    "OPEN_STAGE",
    "OPEN_STATUS",
    "PIXEL_GIF",
    "OpenError",
    "add_pixel",
    "open_token",
    "open_url",
    "opener",
    "read_open_token",
    "record_open",
    "with_open_url",
]


OPEN_STAGE, OPEN_STATUS = "handset", "opened"
OPEN_DATA_KEY = "ums_open"
OPEN_CHANNELS = ("email", "push")
SOURCES = ("pixel", "app")
# The smallest transparent GIF (43 bytes): what every pixel request gets back.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_MAX_TOKEN = 400
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class OpenError(ValueError):
    """A token that is not ours, or no secret to make or read one with."""


def _fernet(secret: str) -> Fernet:
    if not secret:
        raise OpenError("opens_secret: set UMS_OPENS_SECRET in the environment")
    # Fernet wants 32 url-safe base64 bytes; any secret of the operator's choosing maps
    # to one through SHA-256 (with a label, so the key is used for this and nothing else).
    digest = hashlib.sha256(b"ums-opens-v1:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def open_token(secret: str, message_key: str) -> str:
    if not message_key:
        raise OpenError("message_key: empty")
    return _fernet(secret).encrypt(message_key.encode()).decode("ascii")


def read_open_token(secret: str, token: str) -> str:
    """The message key inside ``token``; ``OpenError`` unless we made it."""
    if not token or len(token) > _MAX_TOKEN:
        raise OpenError("token: malformed")
    try:
        return _fernet(secret).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise OpenError("token: not an open token of ours") from None


def open_url(settings: Settings, message_key: str) -> str | None:
    """The message's open address on the short-link server; None without a secret."""
    secret = settings.opens_secret
    if secret is None or not secret.get_secret_value():
        return None
    token = open_token(secret.get_secret_value(), message_key)
    return f"{settings.shortlink_base_url.rstrip('/')}/o/{token}"


def add_pixel(html: str, url: str) -> str:
    """``html`` with the 1×1 pixel of ``url`` at the end of its body."""
    img = (
        f'<img src="{url}.gif" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + img
    at = matches[-1].start()
    return html[:at] + img + html[at:]


def opener(settings: Settings) -> Callable[[str], str] | None:
    """A message key -> open address function for rendering, or None when not set up."""
    if settings.opens_secret is None or not settings.opens_secret.get_secret_value():
        return None
    return lambda key: open_url(settings, key) or ""


def record_open(session: Session, message_key: str, source: str, at: datetime) -> bool:
    """Record the message's open once; False when it was already recorded or the message
    is not there (any more)."""
    if source not in SOURCES:
        raise ValueError(f"source: {source!r} is not one of {', '.join(SOURCES)}")
    if at.tzinfo is None:
        raise ValueError("at: must be timezone-aware")
    message_id = session.scalar(select(Message.id).where(Message.idempotency_key == message_key))
    if message_id is None:
        return False
    seen = select(DeliveryEvent.id).where(
        DeliveryEvent.message_id == message_id,
        DeliveryEvent.stage == OPEN_STAGE,
        DeliveryEvent.status == OPEN_STATUS,
    )
    if session.scalar(seen) is not None:
        return False
    try:
        # Two fetches of one pixel at once: the unique constraint keeps one, and the
        # savepoint keeps the loser's transaction usable.
        with session.begin_nested():
            session.add(
                DeliveryEvent(
                    message_id=message_id,
                    stage=OPEN_STAGE,
                    status=OPEN_STATUS,
                    code=source,
                    occurred_at=at,
                    recorded_at=at,
                )
            )
    except IntegrityError:
        return False
    return True


def with_open_url(
    url: str, channel: str, html: str | None, payload: Payload | None
) -> tuple[str | None, Payload | None]:
    """An e-mail's HTML with the pixel, or a push's data with the address the app posts
    to when the notification is opened; other channels cannot tell, and are left alone."""
    if channel == "email" and html:
        return add_pixel(html, url), payload
    if channel == "push":
        payload = payload or Payload()
        push = payload.push or PushOptions()
        push = push.model_copy(update={"data": {**push.data, OPEN_DATA_KEY: url}})
        return html, payload.model_copy(update={"push": push})
    return html, payload
