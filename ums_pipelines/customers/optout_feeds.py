"""The unified opt-out list fed by every channel (issue 7): the 080 vendor's file, Kakao
channel blocks, the app's push-off events, e-mail unsubscribes (``unsubscribe``) and
call-centre requests, each recorded with the scope its channel implies.

Scopes, and why:

- **080** (source ``080``): advertising on every channel. The 080 number is the free
  opt-out every advertisement must carry (Network Act art. 50); the caller refuses the
  bank's advertising, not one channel of it, and informational notices still go.
- **Kakao channel block** (``kakao_block``): FriendTalk and brand messages, advertising:
  blocking the channel refuses what comes through it; AlimTalk notices are Kakao's own
  informational path and are not ended by a block.
- **Push off** (``push_off``): push, every purpose; ``marketing_only`` (the app's
  "marketing notifications" switch) push advertising only.
- **E-mail unsubscribe** (``email_unsubscribe``): e-mail, the token's purpose.
- **Call centre** (``care``, ``optout_care``): what the customer asked for.

Each event is recorded once: beside ``record_opt_out``'s rule (one active opt-out per
scope), an event already recorded from the same source at the same time is skipped even
if withdrawn since, so re-importing a file after a customer consented again cannot opt
them out again. Each opt-out stops the customer's queued messages it covers at once
(``record_opt_out`` → ``dispatch/lastmile``). Files are applied in transactions of
``CHUNK`` events: an interrupted import is finished by importing the file again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.contact.matching import customers_by_phone
from ums_pipelines.customers.optout_files import BadRow, PhoneEvent, PushEvent
from ums_pipelines.customers.optouts import OptOutScope, record_opt_out
from ums_pipelines.lanes import Purpose
from ums_pipelines.masking import mask_phone
from ums_pipelines.store.contact import OptOut
from ums_pipelines.store.engine import Store, as_utc, utcnow
from ums_pipelines.store.models import Customer

__all__ = [
    "CHUNK",
    "SCOPES_080",
    "SCOPES_KAKAO_BLOCK",
    "FeedResult",
    "apply_phone_events",
    "apply_push_events",
    "apply_push_file",
    "push_scopes",
    "record_events",
]

CHUNK = 500
AD = Purpose.ADVERTISING.value
SCOPES_080 = (OptOutScope(None, AD),)
SCOPES_KAKAO_BLOCK = (OptOutScope("friendtalk", AD), OptOutScope("brand", AD))


def push_scopes(marketing_only: bool) -> tuple[OptOutScope, ...]:
    return (OptOutScope("push", AD if marketing_only else None),)


@dataclass
class FeedResult:
    """What an import did; ``unmatched`` holds masked numbers (or token heads) only."""

    source: str
    name: str
    events: int = 0
    recorded: int = 0  # opt-out rows written
    already: int = 0  # scopes already active, or the same event recorded before
    customers: set[str] = field(default_factory=set)
    unmatched: list[tuple[int, str]] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "name": self.name,
            "events": self.events,
            "recorded": self.recorded,
            "already": self.already,
            "customers": len(self.customers),
            "unmatched": [{"line": n, "who": who} for n, who in self.unmatched],
            "bad": [{"line": b.line, "reason": b.reason} for b in self.bad],
        }


# One event to record: its line, customers, scopes, time, reference and reason.
Item = tuple[int, Sequence[str], Sequence[OptOutScope], datetime, str, str]


def record_events(
    session: Session,
    items: Iterable[Item],
    result: FeedResult,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Record each item's opt-outs in the caller's transaction, skipping seen events."""
    items = list(items)
    ids = sorted({cid for item in items for cid in item[1]})
    seen: set[tuple[str, str | None, str | None, datetime]] = set()
    for start in range(0, len(ids), 1000):
        query = select(OptOut.customer_id, OptOut.channel, OptOut.purpose, OptOut.opted_out_at)
        query = query.where(
            OptOut.customer_id.in_(ids[start : start + 1000]), OptOut.source == result.source
        )
        seen.update((c, ch, p, as_utc(at)) for c, ch, p, at in session.execute(query))
    for line, customers, scopes, at, reference, reason in items:
        for cid in customers:
            result.customers.add(cid)
            for scope in scopes:
                key = (cid, scope.channel, scope.purpose, as_utc(at))
                if key in seen:
                    result.already += 1
                    continue
                seen.add(key)
                row = record_opt_out(
                    session,
                    cid,
                    scope,
                    source=result.source,
                    reference=reference[:128],
                    reason=reason,
                    at=at,
                    now=now,
                    actor=actor,
                    line=line,
                )
                if row is None:
                    result.already += 1
                else:
                    result.recorded += 1


def _finish(session: Session, result: FeedResult, actor: str) -> None:
    audit.record(
        session,
        actor,
        "optout.imported",
        "optout_feed",
        result.name[:64],
        source=result.source,
        events=result.events,
        recorded=result.recorded,
        already=result.already,
        customers=len(result.customers),
        unmatched=len(result.unmatched),
        bad=len(result.bad),
    )


def apply_phone_events(
    store: Store,
    events: Sequence[PhoneEvent],
    bad: Sequence[BadRow],
    *,
    source: str,
    name: str,
    scopes: Sequence[OptOutScope],
    describe: Callable[[PhoneEvent], str],
    actor: str,
    now: datetime | None = None,
) -> FeedResult:
    """Record an opt-out of ``scopes`` for every customer with each event's phone."""
    now = now or utcnow()
    result = FeedResult(source, name, events=len(events), bad=list(bad))
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        with store.session() as session:
            by_phone = customers_by_phone(session, {e.phone for e in chunk})
            items: list[Item] = []
            for e in chunk:
                customers = by_phone.get(e.phone, [])
                if not customers:
                    result.unmatched.append((e.line, mask_phone(e.phone)))
                    continue
                items.append((e.line, customers, scopes, e.at, f"{name}:{e.line}", describe(e)))
            record_events(session, items, result, actor=actor, now=now)
    with store.session() as session:
        _finish(session, result, actor)
    return result


def _token_head(token: str) -> str:
    return token[:6] + "…"


def apply_push_events(
    session: Session,
    events: Sequence[PushEvent],
    result: FeedResult,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Record the push-off events in the caller's transaction (the webhook's or a
    chunk of the file's); customers by id, else by their push token."""
    tokens = {e.push_token for e in events if e.customer_id is None and e.push_token}
    by_token: dict[str, list[str]] = {}
    if tokens:
        for cid, token in session.execute(
            select(Customer.customer_id, Customer.push_token)
            .where(Customer.push_token.in_(tokens))
            .order_by(Customer.customer_id)
        ):
            if token is not None:
                by_token.setdefault(token, []).append(cid)
    named = {e.customer_id for e in events if e.customer_id}
    known = set(
        session.scalars(select(Customer.customer_id).where(Customer.customer_id.in_(named)))
    )
    items: list[Item] = []
    for e in events:
        if e.customer_id is not None:
            customers = [e.customer_id] if e.customer_id in known else []
            who = e.customer_id
        else:
            assert e.push_token is not None
            customers, who = by_token.get(e.push_token, []), _token_head(e.push_token)
        if not customers:
            result.unmatched.append((e.line, who))
            continue
        what = "advertising pushes" if e.marketing_only else "push notifications"
        reference = f"{result.name}:{e.line}"
        items.append(
            (e.line, customers, push_scopes(e.marketing_only), e.at, reference, f"app: {what} off")
        )
    record_events(session, items, result, actor=actor, now=now)


def apply_push_file(
    store: Store,
    events: Sequence[PushEvent],
    bad: Sequence[BadRow],
    *,
    name: str,
    actor: str,
    now: datetime | None = None,
) -> FeedResult:
    """``apply_push_events`` over a file's events, ``CHUNK`` to a transaction, audited."""
    now = now or utcnow()
    result = FeedResult("push_off", name, events=len(events), bad=list(bad))
    for start in range(0, len(events), CHUNK):
        with store.session() as session:
            apply_push_events(session, events[start : start + CHUNK], result, actor=actor, now=now)
    with store.session() as session:
        _finish(session, result, actor)
    return result
