"""The MO keyword table: which replies opt out, and of what.

Matching is on a normalised text: Unicode NFKC (full-width letters become ASCII),
upper case, and everything but letters and digits removed, so "수 신 거 부", "수신-거부!"
and "stop" all match. A reply matches a keyword when it is the keyword or starts with
it ("수신거부합니다"); the longest keyword wins, so "광고거부" is not read as "거부".
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["DEFAULT_KEYWORDS", "KeywordRule", "Route", "load_keywords", "match", "normalise"]

Route = Literal["opt_out", "care"]
ROUTES: tuple[str, ...] = ("opt_out", "care")
PURPOSES: tuple[str, ...] = ("informational", "advertising", "auth")


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """``purpose``/``channel`` None: from the answered message (purpose) / every channel."""

    keyword: str
    route: Route = "opt_out"
    purpose: str | None = None
    channel: str | None = None


DEFAULT_KEYWORDS: tuple[KeywordRule, ...] = (
    KeywordRule("수신거부"),
    KeywordRule("거부"),
    KeywordRule("광고거부", purpose="advertising"),
    KeywordRule("STOP"),
    KeywordRule("080"),
)


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def match(text: str, rules: tuple[KeywordRule, ...] = DEFAULT_KEYWORDS) -> KeywordRule | None:
    """The rule a reply matches, or None (it goes to customer care)."""
    said = normalise(text)
    if not said:
        return None
    for rule in sorted(rules, key=lambda r: len(normalise(r.keyword)), reverse=True):
        if said.startswith(normalise(rule.keyword)):
            return rule
    return None


def load_keywords(path: Path | None) -> tuple[KeywordRule, ...]:
    """The table from ``Settings.mo_keywords_file``, or the default one."""
    if path is None:
        return DEFAULT_KEYWORDS
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"mo_keywords_file: cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise ValueError("mo_keywords_file: must be a non-empty JSON object {keyword: rule}")
    rules: list[KeywordRule] = []
    for keyword, spec in raw.items():
        spec = {"route": spec} if isinstance(spec, str) else spec
        if not isinstance(spec, dict) or not normalise(keyword):
            raise ValueError(f"mo_keywords_file: {keyword!r}: expected a rule object")
        unknown = set(spec) - {"route", "purpose", "channel"}
        if unknown:
            raise ValueError(f"mo_keywords_file: {keyword!r}: unknown field(s) {sorted(unknown)}")
        route = spec.get("route", "opt_out")
        if route not in ROUTES:
            raise ValueError(f"mo_keywords_file: {keyword!r}.route must be one of {ROUTES}")
        purpose = spec.get("purpose")
        if purpose is not None and purpose not in PURPOSES:
            raise ValueError(f"mo_keywords_file: {keyword!r}.purpose must be one of {PURPOSES}")
        channel = spec.get("channel")
        if channel is not None and not isinstance(channel, str):
            raise ValueError(f"mo_keywords_file: {keyword!r}.channel must be a string")
        rules.append(KeywordRule(keyword, route, purpose, channel))
    return tuple(rules)
