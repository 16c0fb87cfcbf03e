"""An alert's life in the store: raised once, repeated on an interval, cleared.

Each step is one conditional write, so evaluators running at the same time (two sensor
ticks, a CLI ``evaluate`` and a producer) notify once: a new alert is an ``INSERT ... ON
CONFLICT DO NOTHING`` on its unique key, and every later step an ``UPDATE ... WHERE
notified = <the count read>`` that only one of them can win. The winner adds the
``alert_notifications`` row (number ``notified``) in the same transaction; delivering it
is ``notify.py``'s, later, under keys made of (alert, number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ums_pipelines.masking import mask_text
from ums_pipelines.store.alerts import Alert, AlertNotification

__all__ = ["Notice", "ack_alert", "clear_alert", "raise_alert", "repeat_due"]

_ALERTS: Table = Alert.__table__  # type: ignore[assignment]
_KINDS = {"raised": "발생", "repeat": "반복", "cleared": "해제"}


@dataclass(frozen=True)
class Notice:
    """A notification this call made (the caller's transaction holds its row)."""

    alert_id: int
    key: str
    seq: int
    kind: str  # raised | repeat | cleared
    text: str


def _count(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def _check(key: str, rule: str, subject: str, severity: str) -> None:
    for name, value, limit in (("key", key, 200), ("rule", rule, 64), ("subject", subject, 128)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: required, a non-empty string")
        if len(value) > limit:
            raise ValueError(f"{name}: longer than {limit} characters")
    if severity not in ("warning", "critical"):
        raise ValueError(f"severity: {severity!r} is not warning or critical")


def _text(kind: str, alert: Alert, seq: int) -> str:
    # Producers' summaries may quote a customer's data: what goes out is masked.
    label = _KINDS[kind] + (f" {seq - 1}" if kind == "repeat" else "")
    return mask_text(f"[UMS 경보 {label}] {alert.summary}")


def _notify(session: Session, alert: Alert, kind: str, now: datetime) -> Notice:
    seq = alert.notified
    text = _text(kind, alert, seq)
    session.add(
        AlertNotification(
            alert_id=alert.id,
            seq=seq,
            kind=kind,
            text=text,
            created_at=now,
            oncall_state="pending",
            oncall_requests=0,
            webhook_state="pending",
            webhook_attempts=0,
        )
    )
    session.flush()
    return Notice(alert.id, alert.key, seq, kind, text)


def _fresh(session: Session, key: str) -> Alert | None:
    return session.scalars(
        select(Alert).where(Alert.key == key).execution_options(populate_existing=True)
    ).first()


def raise_alert(
    session: Session,
    *,
    key: str,
    rule: str,
    subject: str,
    details: Mapping[str, Any],
    now: datetime,
    summary: str | None = None,
    severity: str = "warning",
) -> Notice | None:
    """Raise alert ``key`` (or keep it raised): a new or cleared alert is notified now;
    one already raised only takes the newest details (repeats are ``repeat_due``'s)."""
    _check(key, rule, subject, severity)
    summary = (summary or f"{rule}: {subject}")[:1000]
    values = dict(
        key=key, rule=rule, subject=subject, state="raised", severity=severity,
        summary=summary, details=dict(details), episode=1, notified=1, first_raised_at=now,
        last_seen_at=now, last_notified_at=now, updated_at=now,
    )  # fmt: skip
    mod: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        mod.insert(_ALERTS)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_ALERTS.c.id)
    ).scalar()
    alert = _fresh(session, key)
    assert alert is not None
    if inserted is not None:
        return _notify(session, alert, "raised", now)
    if alert.state == "raised":
        alert.last_seen_at, alert.details, alert.summary = now, dict(details), summary
        alert.severity, alert.updated_at = severity, now
        return None
    seen = alert.notified
    won = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.state == "cleared", Alert.notified == seen)
        .values(
            state="raised",
            severity=severity,
            summary=summary,
            details=dict(details),
            episode=Alert.episode + 1,
            notified=seen + 1,
            first_raised_at=now,
            last_seen_at=now,
            last_notified_at=now,
            cleared_at=None,
            acked_by=None,
            acked_at=None,
            updated_at=now,
        )
    )
    if _count(won) != 1:
        return None  # another evaluator raised it again first
    alert = _fresh(session, key)
    assert alert is not None
    return _notify(session, alert, "raised", now)


def clear_alert(session: Session, *, key: str, now: datetime) -> Notice | None:
    """Clear a raised alert with a "cleared" notification; anything else: nothing."""
    alert = _fresh(session, key)
    if alert is None or alert.state != "raised":
        return None
    seen = alert.notified
    won = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.state == "raised", Alert.notified == seen)
        .values(
            state="cleared",
            notified=seen + 1,
            cleared_at=now,
            last_notified_at=now,
            updated_at=now,
        )
    )
    if _count(won) != 1:
        return None
    alert = _fresh(session, key)
    assert alert is not None
    return _notify(session, alert, "cleared", now)


def repeat_due(session: Session, now: datetime, interval_s: int) -> list[Notice]:
    """Notify again every raised, unacknowledged alert last notified ``interval_s`` ago
    or more; never sooner, and once however many evaluators ask."""
    cutoff = now - timedelta(seconds=interval_s)
    due = session.execute(
        select(Alert.id, Alert.notified).where(
            Alert.state == "raised", Alert.acked_at.is_(None), Alert.last_notified_at <= cutoff
        )
    ).all()
    notices = []
    for alert_id, seen in due:
        won = session.execute(
            update(Alert)
            .where(
                Alert.id == alert_id,
                Alert.state == "raised",
                Alert.notified == seen,
                Alert.last_notified_at <= cutoff,
            )
            .values(notified=seen + 1, last_notified_at=now, updated_at=now)
        )
        if _count(won) == 1:
            alert = session.get(Alert, alert_id, populate_existing=True)
            assert alert is not None
            notices.append(_notify(session, alert, "repeat", now))
    return notices


def ack_alert(session: Session, *, key: str, actor: str, now: datetime) -> Alert:
    """Acknowledge a raised alert: no more repeats this episode (it still clears)."""
    alert = _fresh(session, key)
    if alert is None:
        raise ValueError(f"key: no alert {key!r}")
    if alert.state != "raised":
        raise ValueError(f"key: alert {key!r} is {alert.state}, not raised")
    alert.acked_by, alert.acked_at, alert.updated_at = actor, now, now
    return alert
