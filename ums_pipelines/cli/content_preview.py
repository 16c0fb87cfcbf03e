"""``ums content preview CODE --customer ID [--chain push,alimtalk,sms] --out page.html``:
the exact message each sample customer would receive, per channel and fallback leg."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, authorized
from ums_pipelines.settings import get_settings
from ums_pipelines.store import Store

if TYPE_CHECKING:
    from ums_pipelines.content.preview import Preview

__all__ = ["preview"]

BAD_INPUT = 2


def _chains(given: list[str]) -> list[list[str]] | None:
    from ums_pipelines.content.preview import PreviewError

    if not given:
        return None
    chains = []
    for i, text in enumerate(given):
        chain = [c.strip() for c in text.split(",")]
        if not all(chain):
            raise PreviewError(f"--chain[{i}]: {text!r} is not comma-separated channel names")
        chains.append(chain)
    return chains


def _summary(result: Preview, out: Path) -> None:
    console = Console()
    table = Table(title=f"{result.item.code} v{result.item.version}", title_justify="left")
    for name in ("customer", "leg", "type", "count", "result"):
        table.add_column(name)
    for customer in result.customers:
        rows = [(leg.channel, leg) for leg in customer.variants]
        rows += [
            (f"{chain.label} [{leg.leg + 1}]", leg)
            for chain in customer.chains
            for leg in chain.legs
        ]
        for label, leg in rows:
            if leg.error:
                verdict = f"[red]{leg.error_code}[/red]"
            elif leg.violations:
                verdict = f"[red]{len(leg.violations)} violation(s)[/red]"
            else:
                verdict = "[green]ok[/green]"
            count = leg.count.text if leg.count else "-"
            # Masked name only: customer data stays out of the terminal (and its logs).
            table.add_row(f"{customer.customer_id} {customer.name}", label, leg.message_type,
                          count, verdict)  # fmt: skip
    console.print(table)
    legs = result.legs
    bad = sum(1 for leg in legs if not leg.ok)
    style = "red" if bad else "green"
    console.print(f"[{style}]{len(legs)} legs, {bad} with violations or errors[/{style}]")
    console.print(f"preview written to {out}")


def preview(
    actor: Annotated[str, ACTOR],
    code: Annotated[str, typer.Argument(help="The content item's code.")],
    customer: Annotated[
        list[str], typer.Option("--customer", "-c", help="A sample customer id (repeatable).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML page.")],
    version: Annotated[
        int | None, typer.Option(help="The version to show (default: the job's, else latest).")
    ] = None,
    chain: Annotated[
        list[str] | None,
        typer.Option(help="A fallback chain, e.g. push,alimtalk,sms (repeatable)."),
    ] = None,
    job: Annotated[
        str | None, typer.Option(help="Render as this job would (its sender, routes, version).")
    ] = None,
) -> None:
    """Write an HTML preview of a content item for sample customers: every channel variant
    and fallback leg, with byte/char counts and violations. Exit 1 when a leg would fail
    or break a rule, 2 on bad input."""
    # Imported here: the preview renders through the send path, which loads Polars, and
    # a process that imports Polars at start-up ignores Ctrl-C (see cli/__init__.py).
    from ums_pipelines.compliance.access import content_department
    from ums_pipelines.content.preview import PreviewError, build_preview, render_preview_html

    settings = get_settings()
    store = Store(settings.store_url)
    try:
        authorized(store, actor, "content.preview", content_department(code))
        chains = _chains(chain or [])
        # A read-only look: a preview writes nothing to the store.
        with store.reading() as session:
            result = build_preview(
                session, code=code, version=version, customer_ids=customer, chains=chains,
                job_id=job, settings=settings,
            )  # fmt: skip
    except PreviewError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    finally:
        store.dispose()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_preview_html(result), encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: --out: cannot write {out} ({exc.strerror or exc})", err=True)
        raise typer.Exit(BAD_INPUT) from None
    _summary(result, out)
    raise typer.Exit(0 if all(leg.ok for leg in result.legs) else 1)
