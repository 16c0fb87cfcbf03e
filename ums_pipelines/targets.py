"""Target extraction: a frozen list of recipients per job, with counts per suppression reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ums_pipelines import audit
from ums_pipelines.channels.payload import Payload
from ums_pipelines.compliance import frequency, stages
from ums_pipelines.compliance.adrules import (
    CONSENT_EXPIRED,
    NO_CONSENT,
    TRANSACTION_EXCEPTION,
    ad_rules,
)
from ums_pipelines.compliance.duplicates import DUPLICATE_RECIPIENT, contact_key, normalised
from ums_pipelines.compliance.workflow import transition
from ums_pipelines.customers.optouts import active_opt_outs, covers
from ums_pipelines.lanes import Purpose
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store, utcnow
from ums_pipelines.store.models import AuditLog, Consent, Customer, Job

__all__ = [
    "NOT_FOUND",
    "Recipient",
    "TargetResult",
    "contact_for",
    "extract_targets",
    "read_targets",
    "targets_path",
]


@dataclass
class TargetResult:
    job_id: str
    path: Path
    targets: int
    suppressed: dict[str, int] = field(default_factory=dict)
    by_first_channel: dict[str, int] = field(default_factory=dict)
    frozen: bool = False
    # Targets let in by a rule rather than a consent (``transaction_exception``).
    admitted: dict[str, int] = field(default_factory=dict)


def targets_path(settings: Settings, job_id: str) -> Path:
    return settings.targets_dir / f"{job_id}.parquet"


class Recipient(Protocol):
    """What sending needs of a customer: an ORM ``Customer`` or a Core row both fit."""

    @property
    def customer_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def push_token(self) -> str | None: ...


def contact_for(customer: Recipient, channel: str, payload: Payload | None = None) -> str | None:
    """The address a channel needs; Kakao (AlimTalk, FriendTalk, brand message) reaches
    the KakaoTalk account of the mobile, RCS the mobile's messaging app, and a DM goes to
    the postal address its content carries (``payload.dm``), one line, postcode first."""
    if channel in ("sms", "rcs", "alimtalk", "friendtalk", "brand"):
        return customer.phone
    if channel == "dm":
        letter = payload.dm if payload is not None else None
        if letter is None:
            return None
        parts = (letter.postcode, letter.address, letter.address_detail)
        return " ".join(p for p in parts if p) or None
    if channel == "push":
        return customer.push_token
    if channel == "email":
        return customer.email
    return None


def read_targets(settings: Settings, job_id: str) -> pl.DataFrame:
    return pl.read_parquet(targets_path(settings, job_id))


def _admitted_earlier(session: Session, job_id: str) -> dict[str, int]:
    detail = session.scalars(
        select(AuditLog.detail)
        .where(AuditLog.action == "job.targets_frozen", AuditLog.entity_id == job_id)
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    n = (detail or {}).get(f"admitted_{TRANSACTION_EXCEPTION}")
    return {TRANSACTION_EXCEPTION: int(n)} if n else {}


# Candidates of a segment or an uploaded file that are not customers of the store.
NOT_FOUND = "not_found"
# Up to this many candidates are looked up by key; more are filtered while scanning.
_CANDIDATES_BY_KEY = 1_000


def _candidate_ids(candidates: Iterable[str] | pl.DataFrame | pl.Series | None) -> set[str] | None:
    if candidates is None:
        return None
    if isinstance(candidates, pl.DataFrame):
        if "customer_id" not in candidates.columns:
            raise ValueError("candidates: the frame has no customer_id column")
        candidates = candidates["customer_id"]
    if isinstance(candidates, pl.Series):
        return {str(c) for c in candidates.drop_nulls().to_list()}
    return {str(c) for c in candidates}


def extract_targets(
    store: Store,
    settings: Settings,
    job_id: str,
    *,
    candidates: Iterable[str] | pl.DataFrame | pl.Series | None = None,
    source: Mapping[str, Any] | None = None,
    actor: str = "ums",
    dry_run: bool = False,
) -> TargetResult:
    """Freeze the job's targets once; a second call returns the frozen list unchanged.

    ``candidates`` (customer ids of a segment or an uploaded file) restricts who is
    considered; one that is no customer counts as ``not_found``. ``source`` (where the
    candidates came from) goes into the freeze's audit entry. A ``dry_run`` counts the
    targets and suppressions and freezes, records and checks nothing."""
    wanted = _candidate_ids(candidates)
    path = targets_path(settings, job_id)
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise KeyError(f"job_id: no job {job_id!r}")
        if path.exists() and job.target_count is not None:
            frozen = pl.read_parquet(path)
            firsts = Counter(chain[0] for chain in frozen["chain"].to_list())
            return TargetResult(
                job_id,
                path,
                frozen.height,
                dict(job.suppressed or {}),
                dict(firsts),
                frozen=True,
                admitted=_admitted_earlier(session, job_id),
            )
        consent_key = Purpose(job.purpose).consent_key
        rules = ad_rules(settings, job, utcnow())
        granted: dict[str, set[str]] = {}
        # Granted but past the 2-year age (advertising only), and explicitly withdrawn
        # (the transaction exception never overrides a refusal): both usually few.
        expired: dict[str, set[str]] = {}
        withdrawn: dict[str, set[str]] = {}
        consent_rows = select(
            Consent.customer_id, Consent.channel, Consent.granted, rules.fresh().label("fresh")
        ).where(Consent.purpose == consent_key)
        if not rules.exception_possible:
            consent_rows = consent_rows.where(Consent.granted.is_(True))
        for cid, channel, is_granted, fresh in session.execute(consent_rows):
            if not is_granted:
                withdrawn.setdefault(cid, set()).add(channel)
            elif fresh:
                granted.setdefault(cid, set()).add(channel)
            else:
                expired.setdefault(cid, set()).add(channel)
        routes: dict[str, list[str]] = job.routes
        default_chain = routes.get("default")
        # Opt-outs recorded until now (an MO 수신거부, the 080 list ...) take the channels
        # they cover off each chain, and a customer left with none is not a target.
        all_channels = {c for chain in routes.values() for c in chain}
        opt_outs = active_opt_outs(session, job.purpose, all_channels)
        # Customers at the purpose's frequency cap (one grouped query), and the contacts
        # of the targets so far: a second customer at one address gets no second copy.
        capped = frequency.capped(session, settings, job, utcnow())
        dedupe = settings.suppress_duplicate_recipients
        seen: set[str] = set()
        ids: list[str] = []
        chains: list[list[str]] = []
        # The first leg's address per target, for the duplicate-recipient check; taken
        # here because reading the contacts again would be a second pass over customers.
        contacts: list[str | None] = []
        suppressed: Counter[str] = Counter()
        admitted: Counter[str] = Counter()
        nothing: set[str] = set()
        # Core rows in pages, not ORM objects: a million customers held in the session's
        # identity map took the 1,000,000-message bench job past 2 GB of RSS.
        columns = select(
            Customer.customer_id,
            Customer.name,
            Customer.branch,
            Customer.phone,
            Customer.email,
            Customer.push_token,
            Customer.preferred_channel,
            Customer.deceased,
            rules.by_transaction().label("by_transaction"),
        ).order_by(Customer.customer_id)
        if wanted is not None and len(wanted) <= _CANDIDATES_BY_KEY:
            columns = columns.where(Customer.customer_id.in_(sorted(wanted)))
        found = 0
        # On the connection, not the ORM session: its row loading added 5 s per million.
        rows = session.connection().execute(columns.execution_options(yield_per=20_000))
        for customer in rows:
            if wanted is not None:
                if customer.customer_id not in wanted:
                    continue
                found += 1
            if customer.deceased:
                suppressed["deceased"] += 1
                continue
            chain = routes.get(customer.preferred_channel or "", default_chain)
            if not chain:
                suppressed["no_route"] += 1
                continue
            allowed = granted.get(customer.customer_id, nothing)
            consented = [c for c in chain if c in allowed]
            if customer.by_transaction:
                refused = withdrawn.get(customer.customer_id, nothing)
                consented = [c for c in chain if c in allowed or c not in refused]
            if not consented:
                lapsed = expired.get(customer.customer_id)
                stale = lapsed is not None and not lapsed.isdisjoint(chain)
                suppressed[CONSENT_EXPIRED if stale else NO_CONSENT] += 1
                continue
            opted = opt_outs.get(customer.customer_id)
            if opted:
                consented = [c for c in consented if not covers(opted, c)]
                if not consented:
                    suppressed["opt_out"] += 1
                    continue
            # A letter's address comes with its content (payload.dm), not the customer:
            # compose fails a DM row that has none, with the reason.
            reachable = [
                c for c in consented if c == "dm" or contact_for(cast(Recipient, customer), c)
            ]
            if not reachable:
                suppressed["no_contact"] += 1
                continue
            if customer.customer_id in capped:
                suppressed[frequency.FREQUENCY_CAP] += 1
                continue
            first = reachable[0]
            contact = None if first == "dm" else contact_for(cast(Recipient, customer), first)
            if contact is not None:
                contact = normalised(first, contact)
            if dedupe and contact is not None:
                key = contact_key(first, contact)
                if key in seen:
                    suppressed[DUPLICATE_RECIPIENT] += 1
                    continue
                seen.add(key)
            ids.append(customer.customer_id)
            chains.append(reachable)
            if customer.by_transaction and any(c not in allowed for c in reachable):
                admitted[TRANSACTION_EXCEPTION] += 1
            contacts.append(contact)
        if wanted is not None and len(wanted) > found:
            suppressed[NOT_FOUND] = len(wanted) - found
        # Built from joined strings and split in Polars: a list of a million Python lists
        # took Polars 10 s to convert (one Series per element), most of the extraction.
        frame = pl.DataFrame(
            {
                "customer_id": pl.Series(ids, dtype=pl.String),
                "chain": pl.Series([",".join(c) for c in chains], dtype=pl.String).str.split(","),
            }
        )
        firsts = Counter(chain[0] for chain in chains)
        if dry_run:
            session.rollback()
            return TargetResult(
                job_id, path, frame.height, dict(suppressed), dict(firsts), admitted=dict(admitted)
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp)
        tmp.replace(path)
        job.target_count = frame.height
        job.suppressed = dict(suppressed)
        transition(session, job, "targeted", actor)
        audit.record(
            session,
            actor,
            "job.targets_frozen",
            "job",
            job_id,
            targets=frame.height,
            **suppressed,
            **{f"admitted_{k}": n for k, n in admitted.items()},
            **({"source": dict(source)} if source else {}),
        )
        # Committed with the freeze: a frozen list is never without its findings.
        stages.run_checks(session, settings, job, firsts, contacts)
        # The customers are known from now on: checked against every job planned on the
        # same day (send calendar, docs/operations.md); conflicts alert, never refuse.
        from ums_pipelines.calendar.check import check_job

        check_job(session, settings, job_id, actor=actor)
    return TargetResult(
        job_id, path, frame.height, dict(suppressed), dict(firsts), admitted=dict(admitted)
    )
