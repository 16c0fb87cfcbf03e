"""Recall and precision of the PII scanner per type on a labelled corpus (JSON lines).

Each line: ``{"text": str, "spans": [{"type": str, "start": int, "end": int}], ...}``.
A finding counts as a true positive only with the exact type and offsets of a labelled
span; any other finding is a false positive of its type, any unmatched span a false
negative of its type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ums_pipelines.compliance.pii.findings import PII_TYPES
from ums_pipelines.compliance.pii.scan import scan_text

__all__ = ["Miss", "TypeScore", "evaluate", "format_table", "load_corpus"]


@dataclass
class TypeScore:
    """Counts for one PII type."""

    type: str
    positives: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0


@dataclass(frozen=True)
class Miss:
    """A false positive or negative, for diagnosis (the text is from the test corpus)."""

    kind: str  # "FP" or "FN"
    type: str
    case_id: str
    span: tuple[int, int]


def load_corpus(path: Path) -> list[dict[str, object]]:
    """The corpus cases; a line that is not a JSON object with text and spans is an error."""
    cases: list[dict[str, object]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item, dict) or "text" not in item or "spans" not in item:
            raise ValueError(f"{path}:{number}: a case needs 'text' and 'spans'")
        cases.append(item)
    return cases


def evaluate(cases: Iterable[dict[str, object]]) -> tuple[dict[str, TypeScore], list[Miss]]:
    """Per-type scores over ``cases`` and the list of misses."""
    scores: dict[str, TypeScore] = {name: TypeScore(name) for name in PII_TYPES}
    misses: list[Miss] = []
    for item in cases:
        text = str(item["text"])
        spans = item["spans"]
        if not isinstance(spans, list):
            raise ValueError(f"case {item.get('id', '?')}: 'spans' must be a list")
        expected = {(str(s["type"]), int(s["start"]), int(s["end"])) for s in spans}
        found = {(f.type, f.start, f.end) for f in scan_text(text)}
        case_id = str(item.get("id", "?"))
        for pii_type, start, end in expected:
            if pii_type not in scores:
                raise ValueError(f"case {case_id}: unknown PII type {pii_type!r}")
            scores[pii_type].positives += 1
            if (pii_type, start, end) in found:
                scores[pii_type].tp += 1
            else:
                scores[pii_type].fn += 1
                misses.append(Miss("FN", pii_type, case_id, (start, end)))
        for pii_type, start, end in found - expected:
            scores[pii_type].fp += 1
            misses.append(Miss("FP", pii_type, case_id, (start, end)))
    return scores, misses


def format_table(scores: dict[str, TypeScore]) -> str:
    """A fixed-width table: type, positives, TP, FP, FN, recall, precision."""
    header = (
        f"{'type':<15}{'positives':>10}{'TP':>6}{'FP':>6}{'FN':>6}{'recall':>9}{'precision':>11}"
    )
    lines = [header, "-" * len(header)]
    for score in scores.values():
        lines.append(
            f"{score.type:<15}{score.positives:>10}{score.tp:>6}{score.fp:>6}{score.fn:>6}"
            f"{score.recall:>9.3f}{score.precision:>11.3f}"
        )
    return "\n".join(lines)
