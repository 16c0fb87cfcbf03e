"""Pytest plugin: no log line written during a test may hold personal data.

From each test's setup to the end of its teardown every log record created in the
process, by any logger at any level (including loggers that do not propagate to the
root, such as uvicorn's), is collected through the record factory. When the test's
teardown is done the records are scanned, and any that holds a Korean phone number, a
resident registration number, a card number (Luhn-valid) or the name of a customer the
test wrote to the store fails the test as an error in teardown, naming the logger and
the line with the personal data masked.

Customer names are collected by an SQLAlchemy engine event: the ``name`` bind values of
every INSERT or UPDATE on the ``customers`` table (ORM, Core executemany and text()
alike). Subprocesses log to their own stderr: tests that capture it can scan it with the
``pii_leaks`` fixture.

Loaded from tests/conftest.py; it runs in each xdist worker on its own.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ums_pipelines.masking import _PHONE, _RRN, mask_name, mask_text

__all__ = ["Guard", "find_leaks", "luhn_ok", "mask_line"]

# A phone pattern in a word or after a dot is an id or a decimal fraction, not a number
# someone wrote down; the masking pattern is loose on purpose, this one must not be. Nor
# after a dash joined to a letter or digit: a Dagster run id's last group can be all
# digits shaped like a 050 number (found by the suite).
_PHONE_RE = re.compile(r"(?<![A-Za-z0-9_.])(?<![0-9A-Za-z]-)" + _PHONE)
# YYMMDD plus the century/sex digit (1-8): excludes epoch milliseconds and most ids.
_RRN_RE = re.compile(_RRN)
_RRN_SHAPE = re.compile(r"\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])[1-8]")
# 13-19 digits, in groups split by single spaces or dashes, starting as an issuer does
# (22-27 Mastercard's 2-series, 3-6 the other schemes, 9 Korean domestic cards): epoch
# times start with 1 and time stamps such as 20261126024614 with 20. Digits joined to
# letters, or by a dash to letters or digits, are part of an id (a Dagster run's UUID
# held a Luhn-valid run of 14 digits): the same boundaries as the production recogniser.
_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z_.])(?<![0-9A-Za-z]-)(?=2[2-7]|[345679])\d(?:[ -]?\d){12,18}"
    r"(?![0-9A-Za-z_])(?!-[0-9A-Za-z])"
)
_NON_DIGIT = re.compile(r"\D")

# Their DEBUG is wire-level tracing that production never turns on; pinned at INFO so
# the suite does not format millions of lines. SQLAlchemy's INFO is SQL echo (off in
# every engine UMS makes), which would print bind values by design.
_PINNED = {
    "httpcore": logging.INFO,
    "hpack": logging.INFO,
    "h2": logging.INFO,
    "h11": logging.INFO,
    "asyncio": logging.INFO,
    "urllib3": logging.INFO,
    "multipart": logging.INFO,
    "filelock": logging.INFO,
    "PIL": logging.INFO,
    "sqlalchemy": logging.WARNING,
}
_CUSTOMERS_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE)\s+(?:\"?\w+\"?\.)?\"?customers\"?[\s(]", re.IGNORECASE
)
_NAME_KEY = re.compile(r"^name(?:_\d+|__\d+)?$")
_FLUSH_AT = 5000  # records kept before a scan, so a chatty test does not hoard memory


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class Names:
    """Customer names, matched as substrings (Korean particles attach to a name) but as
    whole words when the name is ASCII."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._starts: re.Pattern[str] | None = None
        self._lengths: list[int] = []

    def add(self, value: object) -> None:
        if isinstance(value, str) and len(value.strip()) >= 2 and value.strip() not in self.names:
            self.names.add(value.strip())
            self._starts = None

    def find(self, text: str) -> str | None:
        if not self.names:
            return None
        if self._starts is None:
            self._starts = re.compile("[" + "".join(re.escape(n[0]) for n in self.names) + "]")
            self._lengths = sorted({len(n) for n in self.names}, reverse=True)
        for match in self._starts.finditer(text):
            i = match.start()
            for size in self._lengths:
                found = text[i : i + size]
                if found in self.names and self._whole(text, i, found):
                    return found
        return None

    @staticmethod
    def _whole(text: str, i: int, name: str) -> bool:
        if not name.isascii():
            return True
        before = text[i - 1 : i]
        after = text[i + len(name) : i + len(name) + 1]
        return not (before.isascii() and before.isalnum()) and not (
            after.isascii() and after.isalnum()
        )


def find_leaks(text: str, names: Names | None = None) -> list[str]:
    """The kinds of personal data in ``text``: phone, RRN, card, customer name."""
    kinds = []
    if _PHONE_RE.search(text):
        kinds.append("phone number")
    if any(_RRN_SHAPE.match(_NON_DIGIT.sub("", m.group(0))) for m in _RRN_RE.finditer(text)):
        kinds.append("RRN")
    if any(luhn_ok(_NON_DIGIT.sub("", m.group(0))) for m in _CARD_RE.finditer(text)):
        kinds.append("card number")
    if names is not None and names.find(text) is not None:
        kinds.append("customer name")
    return kinds


def mask_line(text: str, names: Names | None = None) -> str:
    def card(match: re.Match[str]) -> str:
        digits = _NON_DIGIT.sub("", match.group(0))
        return "*" * (len(digits) - 4) + digits[-4:] if luhn_ok(digits) else match.group(0)

    masked = _CARD_RE.sub(card, mask_text(text))
    while names is not None and (name := names.find(masked)) is not None:
        masked = masked.replace(name, mask_name(name))
    return masked


def _message(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a broken format string is the logger's bug, not ours to hide
        text = f"{record.msg!r} % {record.args!r}"
    if record.exc_info and record.exc_info[1] is not None:
        text += "\n" + "".join(traceback.format_exception(*record.exc_info))
    elif record.exc_text:
        text += "\n" + record.exc_text
    if record.stack_info:
        text += "\n" + record.stack_info
    return text


class Guard:
    """One test's collection of records and customer names."""

    def __init__(self) -> None:
        self.names = Names()
        self.leaks: list[str] = []
        self._records: list[logging.LogRecord] = []
        self._lock = threading.Lock()
        self._previous: Callable[..., logging.LogRecord] | None = None
        self._levels: dict[str, int] = {}

    def start(self) -> None:
        self._previous = logging.getLogRecordFactory()
        previous = self._previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if record.exc_info and record.exc_info[1] is not None:
                # Format now: the traceback's frames and the exception may change later.
                record.exc_text = "".join(traceback.format_exception(*record.exc_info))
            with self._lock:
                self._records.append(record)
                full = len(self._records) >= _FLUSH_AT
            if full:
                self.scan()
            return record

        logging.setLogRecordFactory(factory)
        root = logging.getLogger()
        self._levels[""] = root.level
        root.setLevel(logging.DEBUG)
        for name, level in _PINNED.items():
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            if logger.level == logging.NOTSET:
                logger.setLevel(level)

    def stop(self) -> list[str]:
        if logging.getLogRecordFactory() is not self._previous and self._previous is not None:
            logging.setLogRecordFactory(self._previous)
        for name, level in self._levels.items():
            logging.getLogger(name or None).setLevel(level)
        self.scan()
        return self.leaks

    def scan(self) -> None:
        with self._lock:
            batch, self._records = self._records, []
        for record in batch:
            text = _message(record)
            kinds = find_leaks(text, self.names)
            if kinds and len(self.leaks) < 20:
                line = mask_line(text, self.names).splitlines()
                shown = line[0] if line else ""
                self.leaks.append(
                    f"{record.name} {record.levelname} ({', '.join(kinds)}): {shown[:300]}"
                )

    def collect(self, statement: str, params: Iterable[dict[str, Any]]) -> None:
        for row in params:
            for key, value in row.items():
                if _NAME_KEY.match(key):
                    self.names.add(value)


_current: Guard | None = None


# retval=True spares SQLAlchemy's wrapper: this runs before every statement of the suite.
@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _customer_names(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    guard = _current
    if guard is None or not _CUSTOMERS_WRITE.match(statement):
        return statement, parameters
    compiled = getattr(context, "compiled_parameters", None)
    if compiled:
        guard.collect(statement, compiled)
    elif isinstance(parameters, dict):
        guard.collect(statement, [parameters])
    elif isinstance(parameters, list | tuple) and parameters and isinstance(parameters[0], dict):
        guard.collect(statement, parameters)
    return statement, parameters


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    global _current
    if _current is not None:  # the previous test's teardown did not run to its end
        _current.stop()
    _current = Guard()
    _current.start()
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    global _current
    try:
        result = yield
    finally:
        guard, _current = _current, None
        leaks = guard.stop() if guard else []
    if leaks:
        lines = "\n  ".join(leaks)
        pytest.fail(f"personal data in application logs:\n  {lines}", pytrace=False)
    return result


@pytest.fixture
def pii_leaks() -> Callable[[str], list[str]]:
    """``pii_leaks(text)``: the lines of a subprocess's captured stderr or log file that
    hold personal data (masked), judged as the in-process records are."""

    def scan(text: str) -> list[str]:
        names = _current.names if _current else None
        return [mask_line(line, names) for line in text.splitlines() if find_leaks(line, names)]

    return scan
