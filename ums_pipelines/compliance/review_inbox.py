"""Decision files from the review system: each read, applied in its own transaction and
filed away (``review_files``): ``done/`` when applied, ``rejected/`` with the reason when
it cannot be read or is refused. A file that fails is never lost and never blocks the
others; one applied is never applied twice (it has left the inbox, and a resend of the
same decision is recognised).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ums_pipelines.compliance.review_files import DONE, REJECTED, file_away, inbox_dir
from ums_pipelines.compliance.review_hook import Decision, Outcome, apply_decision
from ums_pipelines.settings import Settings
from ums_pipelines.store.engine import Store

__all__ = ["IngestResult", "ingest_decisions", "waiting_decisions"]

log = logging.getLogger(__name__)
_MAX_BYTES = 1_000_000  # a decision is a few hundred bytes; anything this big is not one


@dataclass
class IngestResult:
    applied: list[Outcome] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # file name -> why

    @property
    def summary(self) -> str:
        counts: dict[str, int] = {}
        for o in self.applied:
            counts[o.status] = counts.get(o.status, 0) + 1
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none applied"
        return f"{shown}; {len(self.refused)} refused"


def waiting_decisions(settings: Settings) -> list[Path]:
    """Decision files waiting in the inbox, oldest name first."""
    directory = inbox_dir(settings)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.json") if p.is_file())


def _read(path: Path) -> Decision:
    if path.stat().st_size > _MAX_BYTES:
        raise ValueError(f"file: larger than {_MAX_BYTES} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"file: not JSON in UTF-8 ({type(exc).__name__})") from None
    return Decision.parse(data)


def ingest_decisions(store: Store, settings: Settings) -> IngestResult:
    """Apply every decision file waiting in the inbox."""
    result = IngestResult()
    for path in waiting_decisions(settings):
        try:
            decision = _read(path)
            with store.session() as session:
                outcome = apply_decision(session, settings, decision, via="file")
        except FileNotFoundError:
            continue  # taken by another ingest between the listing and now
        except (ValueError, KeyError) as exc:
            why = str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)
            result.refused[path.name] = why
            file_away(path, REJECTED, why)
            log.warning("review decision file %s refused: %s", path.name, why)
            continue
        if outcome.applied:
            result.applied.append(outcome)
            file_away(path, DONE)
        else:
            result.refused[path.name] = outcome.message
            file_away(path, REJECTED, outcome.message)
            log.warning("review decision file %s refused: %s", path.name, outcome.message)
    return result
