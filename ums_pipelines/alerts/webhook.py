"""Alert notifications to an HTTP webhook: a signed JSON POST, retried with backoff.

The body is the notification and its alert as JSON (UTF-8, keys sorted); the header
``X-UMS-Signature: sha256=<hex>`` is HMAC-SHA256 of the exact body bytes with
``UMS_ALERT_WEBHOOK_SECRET``; ``X-UMS-Delivery`` (``<alert id>-<number>``) is the same
on every retry, so a receiver drops a repeat. Connection errors, 429 and 5xx are retried
(exponential backoff with jitter, a Retry-After honoured); another 4xx is final. Each
notification records its attempts, last status and outcome (sent | failed | off).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from ums_pipelines.dispatch.backoff import Backoff, parse_retry_after
from ums_pipelines.masking import mask_text
from ums_pipelines.settings import Settings
from ums_pipelines.store.alerts import Alert, AlertNotification
from ums_pipelines.store.engine import Store

__all__ = ["SIGNATURE_HEADER", "deliver_webhooks", "payload", "sign"]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-UMS-Signature"
_RETRY = frozenset({408, 425, 429, 500, 502, 503, 504})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def payload(alert: Alert, note: AlertNotification) -> bytes:
    body = {
        "delivery": f"{alert.id}-{note.seq}",
        "kind": note.kind,
        "text": note.text,
        "notified_at": _iso(note.created_at),
        "alert": {
            "key": alert.key,
            "rule": alert.rule,
            "subject": alert.subject,
            "state": alert.state,
            "severity": alert.severity,
            "summary": mask_text(alert.summary),
            "details": _masked(alert.details),
            "episode": alert.episode,
            "first_raised_at": _iso(alert.first_raised_at),
            "cleared_at": _iso(alert.cleared_at),
        },
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def _post(
    client: httpx.Client,
    settings: Settings,
    body: bytes,
    delivery: str,
    backoff: Backoff,
    sleep: Callable[[float], None],
) -> tuple[str, int, int | None, str | None]:
    """(state, attempts, last status, last error) of one delivery."""
    assert settings.alert_webhook_url is not None and settings.alert_webhook_secret is not None
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(settings.alert_webhook_secret.get_secret_value(), body),
        "X-UMS-Delivery": delivery,
    }
    status: int | None = None
    error: str | None = None
    attempts = settings.alert_webhook_attempts
    for attempt in range(attempts):
        retry_after = None
        try:
            response = client.post(
                settings.alert_webhook_url, content=body, headers=headers,
                timeout=settings.alert_webhook_timeout_s,
            )  # fmt: skip
            status, error = response.status_code, None
            if 200 <= status < 300:
                return "sent", attempt + 1, status, None
            error = f"HTTP {status}"
            if status not in _RETRY:
                return "failed", attempt + 1, status, error
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        if attempt + 1 < attempts:
            sleep(backoff.delay(attempt, retry_after))
    return "failed", attempts, status, error


def deliver_webhooks(
    store: Store,
    settings: Settings,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
    limit: int = 50,
) -> dict[str, int]:
    """POST every pending notification; counts per outcome. No URL: they are marked off."""
    with store.reading() as session:
        pending = session.scalars(
            select(AlertNotification.id)
            .where(AlertNotification.webhook_state == "pending")
            .order_by(AlertNotification.id)
            .limit(limit)
        ).all()
    counts: dict[str, int] = {}
    if not pending:
        return counts
    url, secret = settings.alert_webhook_url, settings.alert_webhook_secret
    if not url or secret is None or not secret.get_secret_value():
        # Unsigned alerts are refused rather than sent: a receiver must trust them.
        state = "off" if not url else "failed"
        reason = None if not url else "alert_webhook_secret: not set; nothing is sent unsigned"
        with store.session() as session:
            for note in session.scalars(
                select(AlertNotification).where(AlertNotification.id.in_(pending))
            ):
                note.webhook_state, note.webhook_error = state, reason
        return {state: len(pending)}
    backoff = backoff or Backoff(base_s=0.5, cap_s=8.0)
    own = client is None
    http = client or httpx.Client()
    try:
        for note_id in pending:
            with store.reading() as session:
                found = session.get(AlertNotification, note_id)
                if found is None or found.webhook_state != "pending":
                    continue
                alert = session.get(Alert, found.alert_id)
                assert alert is not None
                body, delivery = payload(alert, found), f"{alert.id}-{found.seq}"
            state, attempts, status, error = _post(http, settings, body, delivery, backoff, sleep)
            if state == "failed":
                log.warning(
                    "alert webhook %s failed after %d attempts: %s", delivery, attempts, error
                )
            with store.session() as session:
                row = session.get(AlertNotification, note_id)
                assert row is not None
                row.webhook_state, row.webhook_status, row.webhook_error = state, status, error
                row.webhook_attempts += attempts
                row.webhook_at = now
            counts[state] = counts.get(state, 0) + 1
    finally:
        if own:
            http.close()
    return counts
