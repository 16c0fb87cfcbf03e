"""``ums urgent draft|dry-run|approve|send|status``: customer-wide urgent notices on the
top lane (docs/operations.md "Urgent notices").

Exit codes: 0 done, 1 refused (a missing role, the drafter approving, a notice in the
wrong state, a stage-check block), 2 bad input (an unknown notice, template or channel).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, open_store

__all__ = ["urgent_app"]

urgent_app = typer.Typer(
    help="Urgent notices: draft, dry run (reach and time), approve and send on the top lane.",
    no_args_is_help=True,
)
_JSON = typer.Option("--json", help="Print one JSON object.")


def _console() -> Console:
    return Console(soft_wrap=True)


@contextmanager
def _outcomes() -> Iterator[None]:
    """Refusals exit 1, bad input 2, each with its reason."""
    from ums_pipelines.urgent import UrgentError

    try:
        yield
    except (PermissionError, UrgentError) as exc:  # AccessDenied, the drafter, a state
        _console().print(f"[red]refused[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except KeyError as exc:
        _console().print(f"[red]{escape(str(exc.args[0]))}[/red]")
        raise typer.Exit(2) from exc
    except ValueError as exc:  # a segment refused, a bad setting
        _console().print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc


def _chain(text: str, option: str) -> list[str]:
    from ums_pipelines.lanes import CHANNELS

    chain = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in chain if c not in CHANNELS]
    if not chain or unknown:
        raise typer.BadParameter(f"{text!r}: channels are {', '.join(CHANNELS)}", param_hint=option)
    return chain


def _routes(chain: str | None, route: list[str]) -> dict[str, list[str]]:
    routes: dict[str, list[str]] = {}
    if chain:
        routes["default"] = _chain(chain, "--chain")
    for item in route:
        preferred, sep, legs = item.partition("=")
        if not sep or not preferred.strip():
            raise typer.BadParameter(f"{item!r} must be PREFERRED=ch1,ch2", param_hint="--route")
        routes[preferred.strip()] = _chain(legs, "--route")
    return routes


@urgent_app.command("draft")
def draft(
    title: Annotated[str, typer.Option(help="What the notice is about (audit, status).")],
    template: Annotated[str, typer.Option(help="Content bank item code (approved version).")],
    sender: Annotated[str, typer.Option(help="Registered sender number.")],
    actor: Annotated[str, ACTOR],
    chain: Annotated[
        str | None, typer.Option(help="Channels with fallback for everyone, e.g. push,sms.")
    ] = None,
    route: Annotated[
        list[str] | None,
        typer.Option(help="PREFERRED=ch1,ch2 for customers preferring a channel (repeatable)."),
    ] = None,
    segment: Annotated[
        Path | None, typer.Option(help="SQL file of a segment; without it: all customers.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option(help="Segment parameter NAME=VALUE.")] = None,
) -> None:
    """Draft an urgent notice; nothing is frozen or sent until its dry run and approval."""
    from ums_pipelines.urgent import draft_notice

    routes = _routes(chain, route or [])
    params = dict(p.split("=", 1) for p in (param or []) if "=" in p)
    sql = segment.read_text(encoding="utf-8") if segment is not None else None
    with _outcomes(), open_store() as (store, settings):
        notice = draft_notice(
            store,
            settings,
            title=title,
            template_code=template,
            routes=routes,
            sender_number=sender,
            actor=actor,
            segment_sql=sql,
            segment_params=params or None,
        )
    _console().print(
        f"[green]drafted[/green] urgent notice {notice.id} (job {notice.job_id},"
        f" audience {notice.audience}); next: ums urgent dry-run {notice.id}"
    )


def _print_dry_run(report: dict[str, Any]) -> None:
    table = Table("channel", "reach", title=f"Urgent notice {report['notice_id']}: reach")
    for channel, n in report["reach"].items():
        table.add_row(channel, f"{n:,}")
    table.add_row("[b]total[/b]", f"[b]{report['targets']:,}[/b]")
    _console().print(table)
    suppressed = ", ".join(f"{k} {v:,}" for k, v in report["suppressed"].items()) or "none"
    _console().print(f"suppressed: {suppressed}; frequency caps {report['frequency_caps']}")
    prediction = report["prediction"]
    times = Table("provider", "channels", "messages", "rate/s", "seconds", title="Time")
    for p in prediction["providers"]:
        rate = f"{p['rate_per_s']:,.0f}" + ("" if p["limited"] else " (no limit set)")
        times.add_row(
            p["provider"], ",".join(p["channels"]), f"{p['messages']:,}", rate, f"{p['seconds']}"
        )
    _console().print(times)
    _console().print(
        f"predicted: {prediction['seconds']:.1f} s from approval to the last first leg"
        f" (start {prediction['start_s']} s; fallback legs come after)"
    )
    if report["blocks"]:
        _console().print(f"[red]blocked[/red] by stage checks: {', '.join(report['blocks'])}")


@urgent_app.command("dry-run")
def dry_run_cmd(
    notice_id: Annotated[int, typer.Argument(help="The notice.")],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Freeze the notice's list; show its reach per channel after suppression and the
    time to send it at the providers' current limits."""
    from ums_pipelines.urgent import dry_run

    with _outcomes(), open_store() as (store, settings):
        report = dry_run(store, settings, notice_id, actor)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_dry_run(report)


def _send(notice_id: int, actor: str, approve: bool, as_json: bool) -> None:
    from ums_pipelines.urgent import approve_notice, send_notice
    from ums_pipelines.urgent.notices import get_notice

    def say(message: str) -> None:
        if not as_json:
            _console().print(message)

    with _outcomes(), open_store() as (store, settings):
        if approve:
            _, approved_at = approve_notice(store, notice_id, actor)
            say(f"[green]approved[/green] urgent notice {notice_id} by {escape(actor)}; sending")
        else:
            with store.reading() as session:
                approved = get_notice(session, notice_id).approved_at
            if approved is None:
                raise PermissionError(f"notice {notice_id} is not approved")
            approved_at = approved
        report = asyncio.run(
            send_notice(store, settings, notice_id, approved_at, actor=actor, progress=say)
        )
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return
    say(
        f"sent {report.enqueued:,} rows: first accepted after {report.start_s} s, last"
        f" after {report.seconds} s (predicted {report.predicted_s} s); states {report.states}"
    )


@urgent_app.command("approve")
def approve(
    notice_id: Annotated[int, typer.Argument(help="The dry-run notice to approve.")],
    actor: Annotated[str, ACTOR],
    send: Annotated[
        bool,
        typer.Option(help="Send it from this process too (--no-send: running agents send it)."),
    ] = True,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Approve the notice as dry-run (an approver for every department, never its
    drafter): its rows go on the urgent lane at once."""
    if not send:
        from ums_pipelines.urgent import approve_notice
        from ums_pipelines.urgent.enqueue import enqueue_rows

        with _outcomes(), open_store() as (store, settings):
            job_id, _ = approve_notice(store, notice_id, actor)
            written = enqueue_rows(store, settings, job_id)
        _console().print(
            f"[green]approved[/green] urgent notice {notice_id}: {written:,} rows queued on"
            " the urgent lane for the running agents"
        )
        return
    _send(notice_id, actor, True, as_json)


@urgent_app.command("send")
def send_cmd(
    notice_id: Annotated[int, typer.Argument(help="An approved notice.")],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Send an approved notice (again, after an interruption): rows already written or
    sent are not written or sent twice."""
    from ums_pipelines.cli.common import authorized

    with open_store() as (store, _):
        authorized(store, actor, "urgent.send")
    _send(notice_id, actor, False, as_json)


@urgent_app.command("status")
def status(
    notice_id: Annotated[int, typer.Argument(help="The notice.")],
    actor: Annotated[str, ACTOR],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """The notice's steps, rows by state, and the time taken against the prediction."""
    from ums_pipelines.urgent.status import notice_status

    with _outcomes(), open_store() as (store, _):
        facts = notice_status(store, notice_id, actor)
    if as_json:
        print(json.dumps(facts, ensure_ascii=False))
        return
    table = Table("", "", title=f"Urgent notice {notice_id}", show_header=False)
    for key, value in facts.items():
        table.add_row(key, escape(str(value)))
    _console().print(table)
