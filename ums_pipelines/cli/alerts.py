"""``ums alerts list|show|ack|evaluate`` and ``ums alerts oncall add|list|remove``: the
alerts raised by the rules and producers, and the on-call list they go to
(docs/operations.md, "Alerts"). Phone numbers, addresses and names print masked."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Alerts: raised, repeated and cleared; the on-call list.")
oncall_app = typer.Typer(help="Who alerts go to (SMS and e-mail on the urgent lane).")
alerts_app.add_typer(oncall_app, name="oncall")
_JSON = typer.Option("--json", help="Print JSON.")


def _row(alert: Any) -> dict[str, Any]:
    from ums_pipelines.masking import mask_text

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "key": alert.key, "rule": alert.rule, "subject": alert.subject, "state": alert.state,
        "severity": alert.severity, "summary": mask_text(alert.summary), "episode": alert.episode,
        "notified": alert.notified, "first_raised_at": iso(alert.first_raised_at),
        "last_notified_at": iso(alert.last_notified_at), "cleared_at": iso(alert.cleared_at),
        "acked_by": alert.acked_by,
    }  # fmt: skip


@alerts_app.command("list")
def alerts_list(
    actor: Annotated[str, ACTOR],
    show_all: Annotated[bool, typer.Option("--all", help="Cleared alerts too.")] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Raised alerts (with --all, cleared ones too), newest first."""
    from ums_pipelines.store.alerts import Alert

    with open_store() as (store, _), acting(store, actor, "alerts.list"), store.reading() as s:
        query = select(Alert).order_by(Alert.updated_at.desc())
        if not show_all:
            query = query.where(Alert.state == "raised")
        rows = [_row(a) for a in s.scalars(query)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("key", "state", "severity", "since", "notified", "acked", "summary")
    for r in rows:
        since = r["first_raised_at"][:19] if r["first_raised_at"] else "-"
        table.add_row(
            escape(r["key"]), r["state"], r["severity"], since, str(r["notified"]),
            escape(r["acked_by"] or "-"), escape(r["summary"]),
        )  # fmt: skip
    Console(soft_wrap=True).print(table if rows else "no alerts")


@alerts_app.command("show")
def alerts_show(
    key: Annotated[str, typer.Argument(help="The alert's key, e.g. error_burst:sim-sms.")],
    actor: Annotated[str, ACTOR],
) -> None:
    """One alert with its details and every notification (on-call and webhook outcome)."""
    from ums_pipelines.store.alerts import Alert, AlertNotification

    with open_store() as (store, _), acting(store, actor, "alerts.show"), store.reading() as s:
        alert = s.scalars(select(Alert).where(Alert.key == key)).first()
        if alert is None:
            Console(soft_wrap=True).print(f"[red]key: no alert {escape(key)!r}")
            raise typer.Exit(2)
        body = _row(alert) | {"details": alert.details, "notifications": [
            {"seq": n.seq, "kind": n.kind, "at": n.created_at.isoformat(), "text": n.text,
             "oncall": f"{n.oncall_state} ({n.oncall_requests})",
             "webhook": n.webhook_state, "webhook_attempts": n.webhook_attempts,
             "webhook_status": n.webhook_status}
            for n in s.scalars(
                select(AlertNotification).where(AlertNotification.alert_id == alert.id)
                .order_by(AlertNotification.seq)
            )
        ]}  # fmt: skip
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))


@alerts_app.command("ack")
def alerts_ack(
    key: Annotated[str, typer.Argument(help="The raised alert's key.")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Acknowledge a raised alert: no more repeats this episode (it still clears)."""
    from ums_pipelines import audit
    from ums_pipelines.alerts import ack_alert
    from ums_pipelines.store.engine import utcnow

    console = Console(soft_wrap=True)
    try:
        with open_store() as (store, _), acting(store, actor, "alerts.ack"), store.session() as s:
            ack_alert(s, key=key, actor=actor, now=utcnow())
            audit.record(s, actor, "alerts.acked", "alert", key[:64])
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(f"acknowledged {escape(key)} by {escape(actor)}")


@alerts_app.command("evaluate")
def alerts_evaluate(actor: Annotated[str, ACTOR]) -> None:
    """Evaluate the rules once now and deliver what is due (the sensor does it every 20 s)."""
    from ums_pipelines.alerts import run_alerts
    from ums_pipelines.alerts.config import AlertConfigError

    console = Console(soft_wrap=True)
    try:
        with open_store() as (store, settings), acting(store, actor, "alerts.evaluate"):
            result = run_alerts(store, settings)
    except AlertConfigError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    for finding in result.findings:
        console.print(f"{finding.severity}: {escape(finding.summary)}")
    console.print(escape(result.summary))


@oncall_app.command("add")
def oncall_add(
    name: Annotated[str, typer.Option(help="Who (kept in the store, printed masked).")],
    actor: Annotated[str, ACTOR],
    phone: Annotated[str | None, typer.Option(help="Korean mobile number for SMS.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
) -> None:
    """Add someone to the on-call list (a phone, an e-mail address, or both)."""
    from ums_pipelines.alerts.oncall import OncallError, add_contact
    from ums_pipelines.store.engine import utcnow

    console = Console(soft_wrap=True)
    try:
        with (
            open_store() as (store, _),
            acting(store, actor, "alerts.oncall_add"),
            store.session() as s,
        ):
            row = add_contact(s, name=name, phone=phone, email=email, actor=actor, now=utcnow())
            contact_id = row.id
    except OncallError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(f"on-call entry {contact_id} added")


@oncall_app.command("list")
def oncall_list(actor: Annotated[str, ACTOR], as_json: Annotated[bool, _JSON] = False) -> None:
    """The active on-call list, masked."""
    from ums_pipelines.masking import mask_email, mask_name, mask_phone
    from ums_pipelines.store.alerts import OncallContact

    with (
        open_store() as (store, _),
        acting(store, actor, "alerts.oncall_list"),
        store.reading() as s,
    ):
        rows = [
            {"id": c.id, "name": mask_name(c.name),
             "phone": mask_phone(c.phone) if c.phone else None,
             "email": mask_email(c.email) if c.email else None, "added_by": c.added_by}
            for c in s.scalars(
                select(OncallContact).where(OncallContact.active.is_(True)).order_by(OncallContact.id)
            )
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "name", "phone", "email", "added by")
    for r in rows:
        table.add_row(*(str(r[k] or "-") for k in ("id", "name", "phone", "email", "added_by")))
    Console(soft_wrap=True).print(table if rows else "nobody is on call")


@oncall_app.command("remove")
def oncall_remove(
    contact_id: Annotated[int, typer.Argument(help="The entry's id (ums alerts oncall list).")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Take someone off the on-call list (kept, marked removed, audited)."""
    from ums_pipelines.alerts.oncall import OncallError, remove_contact
    from ums_pipelines.store.engine import utcnow

    console = Console(soft_wrap=True)
    try:
        with (
            open_store() as (store, _),
            acting(store, actor, "alerts.oncall_remove"),
            store.session() as s,
        ):
            remove_contact(s, contact_id, actor=actor, now=utcnow())
    except OncallError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(f"on-call entry {contact_id} removed")
