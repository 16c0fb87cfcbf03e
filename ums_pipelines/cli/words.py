"""``ums words add|list|retire|restore|check|seed``: the forbidden-word lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ums_pipelines.cli.common import ACTOR, acting, open_store

__all__ = ["words_app"]

console = Console(soft_wrap=True)
words_app = typer.Typer(
    help="Forbidden words: global and per-department lists, each word with its reason.",
    no_args_is_help=True,
)
_DEPARTMENT = typer.Option("--department", help="The department's list (default: global).")


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


@words_app.command("add")
def add(
    actor: Annotated[str, ACTOR],
    word: Annotated[str, typer.Argument(help="The word or phrase.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: shown to the author.")],
    mode: Annotated[
        str,
        typer.Option(
            help="exact (as written, any case) or normalised (spacing, symbols and"
            " look-alike characters ignored)."
        ),
    ] = "exact",
    department: Annotated[str | None, _DEPARTMENT] = None,
) -> None:
    """Add a word to the global list or a department's."""
    from ums_pipelines.compliance.words import WordError, add_word

    with open_store() as (store, _), acting(store, actor, "words.add", department):
        try:
            with store.session() as session:
                row = add_word(
                    session, word, reason=reason, actor=actor, mode=mode, department=department
                )
                word_id, scope = row.id, row.department or "global"
        except WordError as exc:
            raise _fail(str(exc)) from None
    console.print(f"word {word_id} added to the {escape(scope)} list ({mode})")


@words_app.command("list")
def list_(
    actor: Annotated[str, ACTOR],
    department: Annotated[
        str | None, typer.Option(help="The words that apply to it (global and its own).")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include retired words.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """The words of every list, or those that apply to a department."""
    from ums_pipelines.compliance.words import WordError, list_words

    with (
        open_store() as (store, _),
        acting(store, actor, "words.list", department),
        store.reading() as session,
    ):
        try:
            rows = [
                {
                    "id": r.id,
                    "word": r.word,
                    "mode": r.mode,
                    "scope": r.department or "global",
                    "reason": r.reason,
                    "active": r.active,
                }
                for r in list_words(session, department, include_inactive=show_all)
            ]
        except WordError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "word", "mode", "scope", "reason", "active", title=f"{len(rows)} words")
    for r in rows:
        table.add_row(
            *(escape(str(r[k])) for k in ("id", "word", "mode", "scope", "reason")),
            "yes" if r["active"] else "retired",
        )
    console.print(table)


def _set_active(word_id: int, actor: str, active: bool) -> None:
    from ums_pipelines.compliance.access import word_department
    from ums_pipelines.compliance.words import WordError, restore_word, retire_word

    action = "words.restore" if active else "words.retire"
    with open_store() as (store, _), acting(store, actor, action, word_department(word_id)):
        try:
            with store.session() as session:
                change = restore_word if active else retire_word
                row = change(session, word_id, actor)
                word = row.word
        except WordError as exc:
            raise _fail(str(exc)) from None
    console.print(f"word {word_id} ({escape(word)}) {'restored' if active else 'retired'}")


@words_app.command("retire")
def retire(
    word_id: Annotated[int, typer.Argument(help="The word's id (see list).")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Stop matching a word; it stays on record."""
    _set_active(word_id, actor, False)


@words_app.command("restore")
def restore(
    word_id: Annotated[int, typer.Argument(help="The retired word's id (see list --all).")],
    actor: Annotated[str, ACTOR],
) -> None:
    """Match a retired word again."""
    _set_active(word_id, actor, True)


@words_app.command("check")
def check(
    actor: Annotated[str, ACTOR],
    department: Annotated[
        str | None, typer.Option(help="Check against the global list and this department's.")
    ] = None,
    text: Annotated[str | None, typer.Option(help="The text to check.")] = None,
    file: Annotated[Path | None, typer.Option(help="A UTF-8 text file to check.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Find forbidden words in a text; exit 1 when there is any, 2 on bad input."""
    from ums_pipelines.compliance.words import WordError, check_department

    if (text is None) == (file is None):
        raise _fail("give exactly one of --text or --file")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(
                f"--file: {file} cannot be read as UTF-8 text ({type(exc).__name__})"
            ) from None
    assert text is not None
    with (
        open_store() as (store, _),
        acting(store, actor, "words.check", department),
        store.reading() as session,
    ):
        try:
            hits = check_department(session, department, text)
        except WordError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([vars(h) for h in hits], ensure_ascii=False))
    for h in [] if as_json else hits:
        line = text.count("\n", 0, h.start) + 1
        where = f"line {line}, chars {h.start}-{h.end}"
        said = f"{text[h.start : h.end]!r} is forbidden word {h.word!r} [{h.scope}]: {h.reason}"
        console.print(f"{where}: {escape(said)}")
    if not as_json:
        console.print(f"{len(hits)} forbidden word(s) found" if hits else "no forbidden words")
    if hits:
        raise typer.Exit(1)


@words_app.command("seed")
def seed(actor: Annotated[str, ACTOR]) -> None:
    """Add the demo's default global list (advertising expressions banks avoid)."""
    from ums_pipelines.compliance.words import seed_defaults

    with (
        open_store() as (store, _),
        acting(store, actor, "words.seed"),
        store.session() as session,
    ):
        added = seed_defaults(session, actor)
    console.print(f"{added} default word(s) added")
