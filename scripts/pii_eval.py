"""Print the PII scanner's recall and precision per type on the labelled test corpus.

    .venv/bin/python scripts/pii_eval.py [CORPUS.jsonl] [--misses]

``--misses`` also lists each false positive/negative by case id and offsets (no text, so
the output is safe to paste anywhere). Exit status 1 when a type is below the issue's
bar (recall 0.98, precision 0.95).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ums_pipelines.compliance.pii.evaluate import evaluate, format_table, load_corpus

DEFAULT = Path(__file__).resolve().parents[1] / "tests/ums_pipelines/compliance/pii/corpus.jsonl"
MIN_RECALL = 0.98
MIN_PRECISION = 0.95


def main(argv: list[str]) -> int:
    show_misses = "--misses" in argv
    paths = [arg for arg in argv if not arg.startswith("--")]
    corpus = Path(paths[0]) if paths else DEFAULT
    cases = load_corpus(corpus)
    kinds = {
        kind: sum(1 for c in cases if c.get("kind") == kind) for kind in ("positive", "negative")
    }
    print(
        f"corpus {corpus.name}: {len(cases)} strings ({kinds['positive']} positive, "
        f"{kinds['negative']} negative)"
    )
    scores, misses = evaluate(cases)
    print(format_table(scores))
    if show_misses:
        for miss in misses:
            print(f"{miss.kind} {miss.type} {miss.case_id} {miss.span[0]}:{miss.span[1]}")
    failing = [
        s.type for s in scores.values() if s.recall < MIN_RECALL or s.precision < MIN_PRECISION
    ]
    if failing:
        print(f"below recall {MIN_RECALL} / precision {MIN_PRECISION}: {', '.join(failing)}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
