"""``ums calendar show|conflicts|ics|move|check``: the send calendar of every department
(day, week or month, with Korean holidays and business days), the conflicts between
planned jobs with a suggested free slot, the iCalendar feed, and moving a job's window
(checked again for conflicts). See docs/operations.md, "Send calendar".

Exit codes: 0 done (``move`` and ``check`` also when they found conflicts: a conflict is
a warning for the planners, printed and alerted, not a refusal), 1 refused (role), 2 bad
input (the message names the field).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["calendar_app"]

calendar_app = typer.Typer(
    help="The send calendar: planned jobs of every department, conflicts, iCalendar feed.",
    no_args_is_help=True,
)


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time (e.g. 2026-12-02T10:00+09:00)", param_hint=name
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no time zone (add +09:00)", param_hint=name)
    return moment


def _fail(console: Console, exc: Exception) -> typer.Exit:
    console.print(f"[red]{escape(str(exc))}")
    return typer.Exit(2)


def _print_report(console: Console, lines: list[str], flags: tuple[str, ...]) -> None:
    if flags:
        # Allowed, but worth a second look: a holiday, a weekend, outside the sending day.
        console.print(f"[yellow]planned on[/yellow] {escape(', '.join(flags))}")
    if not lines:
        console.print("no conflicts")
        return
    for line in lines[:-1]:
        console.print(f"[yellow]conflict[/yellow] {escape(line)}")
    console.print(escape(lines[-1]))


@calendar_app.command("show")
def show(
    actor: Annotated[str, ACTOR],
    day: Annotated[str | None, typer.Option("--day", help="The day view of DATE.")] = None,
    week: Annotated[str | None, typer.Option("--week", help="The week (Mon–Sun) of DATE.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="The month of DATE.")] = None,
    department: Annotated[str | None, typer.Option(help="One department only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Planned jobs of a day, week (default: this week) or month, Korea time, with the
    holidays, business days, flags (holiday, weekend, out of hours) and conflicts."""
    from ums_pipelines.calendar.views import calendar_view
    from ums_pipelines.store.engine import utcnow

    given = [(v, s) for v, s in (("day", day), ("week", week), ("month", month)) if s]
    if len(given) > 1:
        raise typer.BadParameter("give one of --day, --week, --month", param_hint="--day")
    view, text = given[0] if given else ("week", None)
    console = Console(soft_wrap=True)
    with open_store() as (store, settings), acting(store, actor, "calendar.show"):
        when = _date(text, f"--{view}") or utcnow().astimezone(settings.tz).date()
        with store.reading() as session:
            cal = calendar_view(session, settings, view, when, department=department)
    if as_json:
        typer.echo(json.dumps(cal, ensure_ascii=False, indent=2))
        return
    _print_view(console, cal)


def _print_view(console: Console, cal: dict[str, Any]) -> None:
    events = {e["job_id"]: e for e in cal["events"]}
    table = Table(title=f"{cal['view']} {cal['from']} – {cal['to']} ({cal['timezone']})")
    for column in ("date", "day", "business", "holiday", "jobs"):
        table.add_column(column)
    for d in cal["days"]:
        jobs = [
            f"{events[j]['start'][11:16]}–{events[j]['end'][11:16]} {j} [{events[j]['department']}]"
            + (" ⚑" if events[j]["flags"] else "")
            for j in d["jobs"]
        ]
        table.add_row(
            d["date"], d["weekday"], "yes" if d["business_day"] else "no",
            d["holiday"] or "", escape("\n".join(jobs)),
        )  # fmt: skip
    console.print(table)
    for c in cal["conflicts"]:
        console.print(
            f"[yellow]conflict[/yellow] {escape(c['jobs'][0])} ↔ {escape(c['jobs'][1])}:"
            f" {c['kind']} ({c['shared']:g} {c['unit']})"
        )


@calendar_app.command("conflicts")
def conflicts(
    actor: Annotated[str, ACTOR],
    job: Annotated[str | None, typer.Option(help="Conflicts of this job only.")] = None,
    resolved: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Conflicts between planned jobs: both jobs, the kind, the shared count and the
    suggested free slot (open ones; cancelled jobs left out)."""
    from ums_pipelines.calendar.views import open_conflicts

    with (
        open_store() as (store, settings),
        acting(store, actor, "calendar.conflicts"),
        store.reading() as session,
    ):
        rows = open_conflicts(
            session, settings, job_ids=[job] if job else None, include_resolved=resolved
        )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"calendar conflicts ({len(rows)})")
    for column in ("jobs", "kind", "shared", "detail", "suggested slot", "resolved"):
        table.add_column(column)
    for r in rows:
        slot = f"{r['suggested'][0][:16]} – {r['suggested'][1][11:16]}" if r["suggested"] else "-"
        table.add_row(
            escape(" ↔ ".join(r["jobs"])), r["kind"], f"{r['shared']:g} {r['unit']}",
            escape(r["detail"]), slot.replace("T", " "), (r["resolved_at"] or "")[:16],
        )  # fmt: skip
    Console(soft_wrap=True).print(table)


@calendar_app.command("ics")
def ics(
    actor: Annotated[str, ACTOR],
    from_: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (KST).")],
    to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (KST), included.")],
    out: Annotated[Path | None, typer.Option(help="Write the feed here (default: stdout).")] = None,
    department: Annotated[str | None, typer.Option(help="One department only.")] = None,
    holidays: Annotated[bool, typer.Option(help="Korean holidays as all-day events.")] = True,
) -> None:
    """The iCalendar (RFC 5545) feed of the jobs planned between two days."""
    from ums_pipelines.calendar.ics import calendar_feed

    first, last = _date(from_, "--from"), _date(to, "--to")
    assert first is not None and last is not None
    console = Console(soft_wrap=True, stderr=True)
    with open_store() as (store, settings), acting(store, actor, "calendar.ics"):
        try:
            with store.reading() as session:
                body = calendar_feed(
                    session, settings, first, last, department=department, with_holidays=holidays
                )
        except ValueError as exc:
            raise _fail(console, exc) from exc
    if out is None:
        typer.echo(body.decode("utf-8"), nl=False)
    else:
        out.write_bytes(body)
        console.print(f"wrote {out} ({body.count(b'BEGIN:VEVENT')} events)")


@calendar_app.command("move")
def move(
    job_id: Annotated[str, typer.Argument(help="The job to plan at another window.")],
    not_before: Annotated[str, typer.Option(help="New start, e.g. 2026-12-02T10:00+09:00.")],
    actor: Annotated[str, ACTOR],
    must_end_by: Annotated[
        str | None, typer.Option(help="New end (default: estimated from count and rate).")
    ] = None,
) -> None:
    """Move a job not yet sending to another window; prints the conflicts there and the
    nearest free slot (an approval given for the old window no longer holds)."""
    from ums_pipelines.calendar.schedule import ScheduleError, reschedule
    from ums_pipelines.compliance.access import job_department

    start = _moment(not_before, "--not-before")
    end = _moment(must_end_by, "--must-end-by")
    assert start is not None
    console = Console(soft_wrap=True)
    with (
        open_store() as (store, settings),
        acting(store, actor, "calendar.move", job_department(job_id)),
    ):
        try:
            with store.session() as session:
                report = reschedule(
                    session, settings, job_id, not_before=start, must_end_by=end, actor=actor
                )
                lines, flags = report.lines(settings), report.flags
        except (ScheduleError, KeyError) as exc:
            raise _fail(console, exc) from exc
    console.print(f"job {escape(job_id)} moved to {start.isoformat()}")
    _print_report(console, lines, flags)


@calendar_app.command("check")
def check(
    job_id: Annotated[str, typer.Argument(help="The job to check against the calendar.")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Check one job's planned window against every other job now (new conflicts are
    recorded and alerted; ones no longer there are resolved)."""
    from ums_pipelines.calendar.check import check_job

    console = Console(soft_wrap=True)
    from ums_pipelines.compliance.access import job_department

    scope = job_department(job_id)
    with open_store() as (store, settings), acting(store, actor, "calendar.check", scope):
        try:
            with store.session() as session:
                report = check_job(session, settings, job_id, actor=actor)
                lines, flags = report.lines(settings), report.flags
        except KeyError as exc:
            raise _fail(console, exc) from exc
    _print_report(console, lines, flags)
