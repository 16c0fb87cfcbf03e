"""Duplicate recipients within one job: two customers at one address (two customer ids
with one phone number, a family's shared e-mail) get one copy, not two.

Target extraction keeps a set of :func:`contact_key` of its targets' first-channel
contacts; a later customer whose key is in it is suppressed as ``duplicate_recipient``
(``UMS_SUPPRESS_DUPLICATE_RECIPIENTS``, on by default). The stage check
``duplicate_recipients`` still warns about shared contacts when that is off.
"""

from __future__ import annotations

__all__ = ["DUPLICATE_RECIPIENT", "contact_key", "normalised"]

DUPLICATE_RECIPIENT = "duplicate_recipient"
# SMS, RCS and the Kakao channels all reach the handset of the mobile number.
_PHONE_CHANNELS = frozenset({"sms", "rcs", "alimtalk", "friendtalk", "brand"})


def normalised(channel: str, contact: str) -> str:
    """One address whatever its spelling: a phone's digits in national form, an e-mail
    in lower case, anything else (a push token) as is."""
    if channel in _PHONE_CHANNELS:
        digits = "".join(ch for ch in contact if ch.isdigit())
        if contact.lstrip().startswith("+82"):
            digits = "0" + digits[2:].lstrip("0")
        return digits
    if channel == "email":
        return contact.strip().lower()
    return contact.strip()


def contact_key(channel: str, contact: str) -> str:
    """The set key of a :func:`normalised` contact: prefixed by its kind of address, so a
    token never equals a phone number."""
    kind = "tel" if channel in _PHONE_CHANNELS else channel
    return f"{kind}:{contact}"
