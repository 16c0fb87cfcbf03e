"""The on-call list: who alerts go to, by SMS (a Korean mobile) and/or e-mail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.phones import InvalidPhone, normalize_kr_mobile
from ums_pipelines.store.alerts import OncallContact

__all__ = ["OncallError", "OncallRecipient", "active_contacts", "add_contact", "remove_contact"]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class OncallError(ValueError):
    """An entry that cannot be added or removed; the message names the field."""


@dataclass(frozen=True)
class OncallRecipient:
    """An on-call contact as a send recipient (``targets.Recipient``): ``oncall:<id>``
    is never a customer id, so no customer statistic or history sees it."""

    customer_id: str
    name: str | None
    phone: str | None
    email: str | None
    branch: str | None = None
    push_token: str | None = None


def add_contact(
    session: Session, *, name: str, phone: str | None, email: str | None, actor: str, now: datetime
) -> OncallContact:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise OncallError("name: required, 1-100 characters")
    phone = phone.strip() if phone and phone.strip() else None
    email = email.strip() if email and email.strip() else None
    if phone is None and email is None:
        raise OncallError("phone/email: at least one of them is needed")
    if phone is not None:
        try:
            phone = normalize_kr_mobile(phone)
        except InvalidPhone as exc:
            raise OncallError(f"phone: {exc}") from None
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise OncallError("email: not an e-mail address")
    row = OncallContact(
        name=name, phone=phone, email=email, active=True, added_by=actor, added_at=now
    )
    session.add(row)
    session.flush()
    # The audit names the entry, not the person: names and numbers stay in the table.
    audit.record(session, actor, "alerts.oncall_added", "oncall", str(row.id),
                 sms=phone is not None, email=email is not None)  # fmt: skip
    return row


def remove_contact(session: Session, contact_id: int, *, actor: str, now: datetime) -> None:
    row = session.get(OncallContact, contact_id)
    if row is None or not row.active:
        raise OncallError(f"id: no active on-call entry {contact_id}")
    row.active, row.removed_by, row.removed_at = False, actor, now
    audit.record(session, actor, "alerts.oncall_removed", "oncall", str(contact_id))


def active_contacts(session: Session) -> list[OncallRecipient]:
    rows = session.scalars(
        select(OncallContact).where(OncallContact.active.is_(True)).order_by(OncallContact.id)
    )
    return [OncallRecipient(f"oncall:{r.id}", r.name, r.phone, r.email) for r in rows]
