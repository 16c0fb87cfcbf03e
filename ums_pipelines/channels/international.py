"""International SMS: E.164 numbers, the country allow-list and the monthly cap.

Off by default (``UMS_INTL_ENABLED``). Each destination country must be on the
allow-list (``UMS_INTL_COUNTRIES``, ISO alpha-2), and the month's accepted international
messages (``UMS_INTL_CAP_MESSAGES``) and their cost in KRW (``UMS_INTL_CAP_KRW``) stay
under the caps: the send refuses what would go over (E-INTL-CAP) and raises an alert at
70 % and at 100 %, once per threshold and month: an audit log entry and a log warning.

The cap is checked per batch against what the store has booked: dispatchers sending
international batches at the same moment can overshoot it by what they have in flight.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.masking import mask_phone
from ums_pipelines.settings import Settings
from ums_pipelines.store.models import AuditLog, Message

__all__ = [
    "ALERT_ACTION",
    "E_INTL_CAP",
    "E_INTL_COUNTRY",
    "E_INTL_OFF",
    "INTL_TYPE",
    "THRESHOLDS",
    "Admission",
    "IntlPolicy",
    "destination",
    "month_usage",
]

E_INTL_OFF = "E-INTL-OFF"
E_INTL_COUNTRY = "E-INTL-COUNTRY"
E_INTL_CAP = "E-INTL-CAP"
ALERT_ACTION = "intl.cap.alert"
THRESHOLDS = (70, 100)
INTL_TYPE = "INTL_SMS"

log = logging.getLogger(__name__)


def destination(raw: str) -> tuple[str, str] | None:
    """``(E.164, country)`` of a number abroad, None for a Korean number; raises
    ValueError naming ``recipient`` for what is not a valid number at all."""
    text = raw.strip()
    try:
        # Without a leading + a number is read as Korean, as a Korean bank writes them.
        number = phonenumbers.parse(text, None if text.startswith("+") else "KR")
    except phonenumbers.NumberParseException:
        raise ValueError(f"recipient: not a phone number ({mask_phone(raw)})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"recipient: not a valid phone number ({mask_phone(raw)})")
    country = phonenumbers.region_code_for_number(number)
    if country is None or country == "001":
        # Non-geographic numbers (+800, satellite): no country to allow or refuse.
        raise ValueError(f"recipient: not a number in any country ({mask_phone(raw)})")
    if country == "KR":
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), country


@dataclass(frozen=True)
class Admission:
    """How many of a batch may go, and why the rest may not."""

    allowed: int
    refused_code: str | None = None
    refused_reason: str | None = None


def _month_start(settings: Settings, now: datetime) -> datetime:
    local = now.astimezone(settings.tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_usage(session: Session, settings: Settings, now: datetime) -> tuple[int, Decimal]:
    """International messages the providers accepted this month (Korea time), and their
    price; failed legs count neither (they are not charged)."""
    start = _month_start(settings, now)
    count, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(Message.unit_price), 0)).where(
            Message.message_type == INTL_TYPE,
            Message.submitted_at >= start,
            Message.state.in_(("accepted", "delivered")),
        )
    ).one()
    return int(count), Decimal(str(amount))


class IntlPolicy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.countries = {
            c.strip().upper() for c in settings.intl_countries.split(",") if c.strip()
        }

    def country_refusal(self, country: str) -> tuple[str, str] | None:
        if not self.settings.intl_enabled:
            return E_INTL_OFF, "international sends are off (UMS_INTL_ENABLED)"
        if country.upper() not in self.countries:
            return E_INTL_COUNTRY, f"country {country} is not on the allow-list"
        return None

    def admit(self, session: Session, count: int, unit_price: Decimal, now: datetime) -> Admission:
        """How many of ``count`` messages fit under the caps; raises the alerts due."""
        used, spent = month_usage(session, self.settings, now)
        allowed = count
        cap_n, cap_krw = self.settings.intl_cap_messages, self.settings.intl_cap_krw
        if cap_n is not None:
            allowed = min(allowed, max(0, cap_n - used))
        if cap_krw is not None and unit_price > 0:
            room = (Decimal(str(cap_krw)) - spent) / unit_price
            allowed = min(allowed, max(0, int(room)))
        self._alerts(session, now, used + allowed, spent + unit_price * allowed)
        if allowed == count:
            return Admission(count)
        return Admission(allowed, E_INTL_CAP, "the monthly international cap is reached")

    def _alerts(self, session: Session, now: datetime, used: int, spent: Decimal) -> None:
        ratios = []
        if self.settings.intl_cap_messages:
            ratios.append(Decimal(used) / self.settings.intl_cap_messages)
        if self.settings.intl_cap_krw:
            ratios.append(spent / Decimal(str(self.settings.intl_cap_krw)))
        if not ratios:
            return
        share = max(ratios) * 100
        month = _month_start(self.settings, now).strftime("%Y-%m")
        for threshold in THRESHOLDS:
            if share < threshold:
                continue
            key = f"{month}:{threshold}"
            raised = session.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == ALERT_ACTION, AuditLog.entity_id == key)
            )
            if raised:
                continue
            audit.record(
                session,
                "ums-dispatch",
                ALERT_ACTION,
                "intl_cap",
                key,
                month=month,
                threshold=threshold,
                messages=used,
                amount_krw=str(spent),
                cap_messages=self.settings.intl_cap_messages,
                cap_krw=self.settings.intl_cap_krw,
            )
            log.warning(
                "international monthly cap %d%% reached for %s (%d messages, %s KRW)",
                threshold,
                month,
                used,
                spent,
            )
