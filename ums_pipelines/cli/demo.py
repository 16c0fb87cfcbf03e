"""``ums demo``: run the asset graph end to end against the in-process gateway simulator."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ums_pipelines.demo import (
    DEMO_JOB_ID,
    DEMO_SENDER,
    ChannelRow,
    channel_table,
    ensure_customers,
    ensure_showcase_customers,
    job_done,
    ledger_by_type,
    ledger_summary,
    register_demo_job,
    watch_progress,
)
from ums_pipelines.settings import Settings, get_settings
from ums_pipelines.store import Store

__all__ = ["demo"]

console = Console()
ANALYTICS = [
    "store_parquet_export",
    "stg_messages",
    "stg_delivery_events",
    "fct_messages",
    "dim_channel",
    "rpt_daily_channel",
]
COLUMNS = (
    "requested",
    "sent",
    "delivered",
    "failed",
    "fell_back",
    "ledger_accepted",
    "ledger_delivered",
)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _table(rows: list[ChannelRow]) -> Table:
    table = Table(
        title=f"Job {DEMO_JOB_ID} and the showcase, per message type", title_justify="left"
    )
    table.add_column("channel")
    for col in COLUMNS:
        table.add_column(col.replace("_", " "), justify="right")
    table.add_column("= ledger", justify="center")
    total = ChannelRow("total")
    for r in [*rows, total]:
        if r is not total:
            for name in COLUMNS:
                setattr(total, name, getattr(total, name) + getattr(r, name))
        ok = "[green]yes[/green]" if r.reconciled else "[red]NO[/red]"
        table.add_row(r.message_type, *(str(getattr(r, c)) for c in COLUMNS), ok)
    return table


class _Steps:
    """Runs parts of the asset graph in the persistent Dagster instance, quietly."""

    def __init__(self, settings: Settings, ums: Any) -> None:
        from ums_pipelines.definitions import open_instance

        self.instance = open_instance(settings.dagster_home)
        self.ums = ums

    def run(self, title: str, selection: list[str], partition_key: str | None = None) -> None:
        from ums_pipelines.definitions import materialize_selection

        with console.status(title):
            result = materialize_selection(self.instance, self.ums, selection, partition_key)
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                console.print(f"[yellow]check {check.check_name} did not pass: {check.metadata}")
        console.print(f"[green]✓[/green] {title}  [dim]run {result.run_id[:8]}[/dim]")


def demo(
    customers: Annotated[
        int,
        typer.Option("--customers", min=1, max=1_000_000, help="Synthetic customers (first run)."),
    ] = 10_000,
) -> None:
    """Run UMS end to end on the embedded defaults: customers, a bulk job on four channels,
    one real-time message of every channel and type, report."""
    # Imported here, not with the CLI: the showcase brings in the dispatcher and Polars,
    # whose runtime takes over SIGINT, and `ums gateway-sim` must still stop on Ctrl-C.
    from ums_pipelines.demo_approval import approve_demo_job, seed_demo_staff
    from ums_pipelines.demo_showcase import (
        SHOWCASE,
        SHOWCASE_COUNTRIES,
        run_showcase,
        showcase_complete,
        showcase_job_ids,
    )
    from ums_pipelines.gateway_sim import GatewaySimulator
    from ums_pipelines.resources import UmsResource

    logging.getLogger("dagster").setLevel(logging.WARNING)
    if not console.is_terminal:
        console.width = max(console.width, 130)
    settings = get_settings()
    store = Store(settings.store_url)
    console.rule("[b]UMS demo")
    console.print(f"UMS_HOME {settings.resolved_home}")
    console.print(f"store    {store.engine.url.render_as_string(hide_password=True)}")
    store.migrate()
    seed_demo_staff(store)
    settings.simulator_dir.mkdir(parents=True, exist_ok=True)
    with GatewaySimulator(ledger_path=settings.simulator_dir / "ledger.db") as sim:
        console.print(
            f"gateway  {sim.base_url}, SMTP port {sim.smtp_port}, APNs {sim.apns_url}"
            " (simulator, in-process)"
        )
        ums = UmsResource(
            home=str(settings.resolved_home),
            database_url=settings.database_url,
            gateway_url=sim.base_url,
            smtp_port=sim.smtp_port,
            apns_url=sim.apns_url,
            # The showcase's one international SMS goes to an allowed country.
            intl_enabled=True,
            intl_countries=SHOWCASE_COUNTRIES,
        )
        steps = _Steps(settings, ums)
        generated = ensure_customers(store, settings, customers)
        console.print(
            f"customers: {generated} synthetic customers written to the inbox"
            if generated
            else "customers: already in the store, none generated"
        )
        if ensure_showcase_customers(store, settings):
            console.print("customers: the showcase's customers written to the inbox")
        steps.run("customer sync  (customer_profiles)", ["customer_profiles"])

        created = register_demo_job(store)
        earlier = [DEMO_JOB_ID, *showcase_job_ids(store)]
        bulk_done = job_done(store, DEMO_JOB_ID)
        was_done = bulk_done and showcase_complete(store)
        state = "registered" if created else ("already complete" if bulk_done else "resuming")
        console.print(f"job {DEMO_JOB_ID}: {state}")
        console.print(approve_demo_job(store, settings))
        before = {j: ledger_summary(sim.base_url, j + ".") for j in earlier}
        with _progress() as progress:
            task = progress.add_task("messages terminal", total=None)
            watch = watch_progress(
                store, DEMO_JOB_ID, lambda d, t: progress.update(task, completed=d, total=t or None)
            )
            try:
                steps.run(
                    "targets + dispatch  (job_targets, job_dispatch)",
                    ["job_targets", "job_dispatch"],
                    DEMO_JOB_ID,
                )
            finally:
                watch.stop()
        with console.status("showcase: real-time intake and a send agent"):
            shown = run_showcase(store, ums.settings(), DEMO_SENDER)
        console.print(
            f"[green]✓[/green] showcase  {shown.submitted} of {len(SHOWCASE)} real-time requests"
            f" new, one of every channel and type  [dim]{shown.seconds:.1f} s[/dim]"
        )
        if shown.held:
            at = min(shown.held.values()).astimezone(settings.tz).strftime("%H:%M")
            console.print(
                f"[yellow]held by the advertising night rule: {', '.join(sorted(shown.held))}"
                f" until {at} Korea time; `ums demo` after that sends them"
            )
        elif not shown.terminal:
            console.print("[yellow]showcase messages still in flight; `ums demo` again ends them")
        steps.run("receipt ingestion  (delivery_receipts)", ["delivery_receipts"])
        steps.run("Parquet export and DuckDB models", ANALYTICS)
        today = datetime.now(settings.tz).date().isoformat()
        steps.run(f"daily report {today}  (daily_report)", ["daily_report"], today)
        after = {j: ledger_summary(sim.base_url, j + ".") for j in earlier}
        job_ids = [DEMO_JOB_ID, *shown.job_ids]
        ledger = ledger_by_type(sim.base_url, [j + "." for j in job_ids])
        rows = channel_table(store, job_ids, ledger)

    console.print(_table(rows))
    reconciled = all(r.reconciled for r in rows)
    console.print(
        "[green]Every count equals the simulator's ledger.[/green]"
        if reconciled
        else "[red]Counts differ from the simulator's ledger.[/red]"
    )
    resent = was_done and before != after
    if was_done and not resent:
        console.print(
            f"[green]No message sent twice:[/green] job {DEMO_JOB_ID} and the showcase were"
            " already complete; their ledger entries are unchanged by this run."
        )
    elif resent:
        console.print(f"[red]The ledger of the completed job {DEMO_JOB_ID} changed on a rerun.")
    elif bulk_done:
        console.print(f"Job {DEMO_JOB_ID} was already complete; the showcase ran the first time.")
    elif not created:
        console.print(
            f"Job {DEMO_JOB_ID} resumed: only messages no provider had accepted were sent."
        )
    if not job_done(store, DEMO_JOB_ID):
        console.print(f"[yellow]Job {DEMO_JOB_ID} is not finished; `ums demo` again resumes it.")
    console.print(f"HTML report  {settings.reports_dir / 'daily' / f'{today}.html'}")
    console.print(
        f"Dagster UI   DAGSTER_HOME={settings.dagster_home} dagster dev -w workspace.yaml"
    )
    store.dispose()
    if not reconciled or resent:
        raise typer.Exit(code=1)
