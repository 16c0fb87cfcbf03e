"""Sandboxed rendering of message templates over whitelisted variables only.

The whitelist is the content item's declared variable schema (``content/spec.py``): a
template may use only declared variables, a declaration may read only the fields its
kind allows, and the renderer is given exactly the declared values.

Injection is closed twice. A template may use only a small language (text, variables,
whitelisted filters and tests, ``if``, comparisons, boolean logic, constants, ``~``,
number arithmetic, slicing): no attribute or item access by name, calls, loops, macros,
``set``, imports, includes or blocks; checked at registration and before compiling. The
environment itself has only those filters, no globals, refuses attributes and calls,
bounds ``*``/``**``/``%`` and caps the output: a bypass of one layer meets the other.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS as DEFAULT_TESTS

__all__ = [
    "FILTERS",
    "MAX_OUTPUT_CHARS",
    "MAX_SOURCE_CHARS",
    "TESTS",
    "TemplateError",
    "check_template",
    "render",
    "variables_in",
]

# An e-mail HTML body is the largest legitimate source; 64 KB of markup is generous.
MAX_SOURCE_CHARS = 64_000
MAX_OUTPUT_CHARS = 256_000
# "{{ }}" (or "{{- -}}"): an author who forgot the variable's name; Jinja's own error
# ("Expected an expression") does not say that.
_EMPTY_TAG = re.compile(r"\{\{-?\s*-?\}\}")
_MAX_DEPTH = 40  # nesting of tags and expressions; the compiler recurses per level
_MAX_INT_BITS = 256  # numbers in a message are amounts and counts, never 10**100
_NUMBER = (int, float, Decimal)
_RESERVED = frozenset({"self", "loop", "super", "caller", "varargs", "kwargs"})


class TemplateError(ValueError):
    """A template that cannot be registered or rendered; the message names the field."""


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    """``replace`` that cannot amplify: ``replace('', 'x' * 1000)`` chained is a bomb."""
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if count is None or count < 0 else min(count, text.count(old))
    if len(text) + hits * (len(new) - len(old)) > MAX_OUTPUT_CHARS:
        raise SecurityError(f"replace: the result would exceed {MAX_OUTPUT_CHARS} characters")
    return text.replace(old, new, -1 if count is None else count)


def _won(value: Any) -> str:
    """An amount with thousands separators, as banks print it: 1234567 -> 1,234,567."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"won: expects a number, not {type(value).__name__}")
    try:
        text = value.replace(",", "").strip() if isinstance(value, str) else str(value)
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("won: the value is not a number") from None
    # A huge exponent would print a million digits; no amount has 19 of them. (adjusted()
    # reads the exponent without arithmetic, which would raise decimal.Overflow.)
    if not amount.is_finite() or amount.adjusted() >= 18:
        raise ValueError("won: the amount is out of range")
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount.normalize():,f}"


# Nothing here can reach an object's attributes, call out, or grow text without bound
# (center, indent, wordwrap can; replace is re-implemented with a cap).
_SAFE_DEFAULT_FILTERS = (
    "abs capitalize d default float int length lower round string striptags title trim truncate"
    " upper"
)
FILTERS: dict[str, Any] = {name: DEFAULT_FILTERS[name] for name in _SAFE_DEFAULT_FILTERS.split()}
FILTERS |= {"replace": _replace, "won": _won}
_SAFE_TESTS = (
    "defined undefined none number string integer float boolean true false even odd divisibleby"
    " eq ne lt le gt ge in == != < <= > >= lower upper"
)
TESTS: dict[str, Any] = {name: DEFAULT_TESTS[name] for name in _SAFE_TESTS.split()}


class _MessageEnvironment(ImmutableSandboxedEnvironment):
    """The render-time layer: holds even if a template skipped the registration check."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if not (isinstance(left, _NUMBER) and isinstance(right, _NUMBER)):
            # '*' on a string is a memory bomb, '%' on one is printf formatting.
            raise SecurityError(f"'{operator}' is allowed on numbers only")
        if isinstance(left, int) and isinstance(right, int):
            bits = left.bit_length()
            if operator == "*":
                bits += right.bit_length()
            elif operator == "**":
                bits = bits * abs(right) if right.bit_length() < 16 else _MAX_INT_BITS + 1
            if bits > _MAX_INT_BITS:
                raise SecurityError(f"'{operator}': the result would be too large")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"attribute access '.{attribute}' is not allowed")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, bool) or not isinstance(argument, int | slice):
            raise SecurityError("item access is allowed by number or slice only")
        return super().getitem(obj, argument)

    def call(self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("calls are not allowed")


_env = _MessageEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_env.globals.clear()  # range, lipsum, cycler, joiner, namespace, dict
_env.filters = FILTERS
_env.tests = TESTS


class _Refused(Exception):
    """A construct outside the message-template language; the text is the reason."""


_STATEMENT_NAMES: dict[type[nodes.Node], str] = {
    nodes.For: "loops ({% for %})",
    nodes.Macro: "macros ({% macro %})",
    nodes.CallBlock: "{% call %} blocks",
    nodes.FilterBlock: "{% filter %} blocks",
    nodes.With: "{% with %} blocks",
    **dict.fromkeys((nodes.Assign, nodes.AssignBlock), "assignments ({% set %})"),
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.ExprStmt: "{% do %}",
    **dict.fromkeys((nodes.Continue, nodes.Break), "loop control"),
    nodes.Scope: "{% autoescape %}",  # the parser wraps autoescape blocks in a Scope
}
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv)


def _refuse(node: nodes.Node, what: str) -> _Refused:
    line = f" (line {node.lineno})" if node.lineno else ""
    return _Refused(f"unsafe template construct: {what}{line}")


def _is_int(node: nodes.Node | None) -> bool:
    if isinstance(node, nodes.Neg):
        node = node.node
    return isinstance(node, nodes.Const) and type(node.value) is int


def _check(node: nodes.Node, depth: int = 0) -> None:
    """Allow only the message-template language; refuse anything else by name."""
    if depth > _MAX_DEPTH:
        raise _refuse(node, f"nesting deeper than {_MAX_DEPTH} levels")
    children: list[nodes.Node | None]
    if isinstance(node, nodes.Template | nodes.Output):
        children = list(node.body if isinstance(node, nodes.Template) else node.nodes)
    elif isinstance(node, nodes.TemplateData):
        children = []
    elif isinstance(node, nodes.If):
        children = [node.test, *node.body, *node.elif_, *node.else_]
    elif isinstance(node, nodes.Const):
        if node.value is not None and type(node.value) not in (str, int, float, bool):
            raise _refuse(node, f"a {type(node.value).__name__} constant")
        children = []
    elif isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name in _RESERVED or node.name.startswith("_"):
            raise _refuse(node, f"the name '{node.name}'")
        children = []
    elif isinstance(node, nodes.Getattr):
        raise _refuse(node, f"attribute access '.{node.attr}'")
    elif isinstance(node, nodes.Getitem):
        arg = node.arg
        sliced = isinstance(arg, nodes.Slice) and all(
            part is None or _is_int(part) for part in (arg.start, arg.stop, arg.step)
        )
        if not (sliced or _is_int(arg)):
            raise _refuse(node, "item access other than by a number or a slice ('x[...]')")
        children = [node.node]
    elif isinstance(node, nodes.Call):
        raise _refuse(node, "calls ('...()')")
    elif isinstance(node, nodes.Filter | nodes.Test):
        kind, allowed = ("filter", FILTERS) if isinstance(node, nodes.Filter) else ("test", TESTS)
        if node.name not in allowed:
            raise _refuse(node, f"the {kind} '{node.name}' (allowed: {', '.join(sorted(allowed))})")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _refuse(node, f"*args or **kwargs in the {kind} '{node.name}'")
        children = [node.node, *node.args, *(kw.value for kw in node.kwargs)]
    elif isinstance(node, nodes.CondExpr):
        children = [node.test, node.expr1, node.expr2]
    elif isinstance(node, nodes.And | nodes.Or):
        children = [node.left, node.right]
    elif isinstance(node, nodes.Not | nodes.Neg | nodes.Pos):
        children = [node.node]
    elif isinstance(node, nodes.Compare):
        children = [node.expr, *(op.expr for op in node.ops)]
    elif isinstance(node, nodes.Concat):
        children = list(node.nodes)
    elif isinstance(node, nodes.Pow):
        raise _refuse(node, "'**' (power)")
    elif isinstance(node, nodes.Mod):
        raise _refuse(node, "'%' (string formatting and modulo)")
    elif isinstance(node, _ARITHMETIC):
        for side in (node.left, node.right):
            text = isinstance(side, nodes.Const) and isinstance(side.value, str)
            if text or isinstance(side, nodes.List | nodes.Tuple):
                # 'a' * 10**9 is a memory bomb; text is joined with '~', not arithmetic.
                raise _refuse(node, f"'{node.operator}' on a string or a list")
        children = [node.left, node.right]
    elif isinstance(node, nodes.List | nodes.Tuple):
        children = list(node.items)
    else:
        what = _STATEMENT_NAMES.get(type(node), f"the construct '{type(node).__name__}'")
        raise _refuse(node, what)
    for child in children:
        if child is not None:
            _check(child, depth + 1)


class _Checked(NamedTuple):
    template: Template | None
    used: frozenset[str]
    error: str | None


@lru_cache(maxsize=512)
def _checked(source: str) -> _Checked:
    """Parse, check and compile once per source; a refusal is cached like a template."""
    empty = _EMPTY_TAG.search(source)
    if empty is not None:
        line = source.count("\n", 0, empty.start()) + 1
        error = f"an empty personalisation tag '{empty.group()}' on line {line}: name a variable"
        return _Checked(None, frozenset(), error)
    try:
        tree = _env.parse(source)
        _check(tree)
        used = frozenset(meta.find_undeclared_variables(tree))
        return _Checked(_env.from_string(tree), used, None)
    except TemplateSyntaxError as exc:
        return _Checked(None, frozenset(), f"syntax error on line {exc.lineno}: {exc.message}")
    except _Refused as exc:
        return _Checked(None, frozenset(), str(exc))
    except RecursionError:
        return _Checked(None, frozenset(), f"nesting deeper than {_MAX_DEPTH} levels")
    except (JinjaError, ValueError) as exc:
        # A number literal longer than Python's digit limit, an assertion of the compiler.
        return _Checked(None, frozenset(), f"cannot compile: {exc}")


def _template(field: str, source: str) -> _Checked:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateError(
            f"{field}: {len(source):,} characters, more than the {MAX_SOURCE_CHARS:,} allowed"
        )
    checked = _checked(source)
    if checked.error is not None:
        raise TemplateError(f"{field}: {checked.error}")
    return checked


def check_template(field: str, source: str, declared: Collection[str]) -> set[str]:
    """At registration: size, syntax, the safe language, and every variable declared."""
    used = _template(field, source).used
    unknown = used - set(declared)
    if unknown:
        raise TemplateError(f"{field}: variables not declared: {', '.join(sorted(unknown))}")
    return set(used)


def variables_in(source: str) -> frozenset[str]:
    """The variables a (registered, so checked) template uses."""
    return _template("template", source).used


def render(field: str, source: str, variables: Mapping[str, Any]) -> str:
    """``variables``: the declared ones only. Raises only ``TemplateError``, which compose
    makes a failed row for this customer; anything else would abort the job's enqueue."""
    template = _template(field, source).template
    assert template is not None  # _template raised for a refused source
    try:
        out = template.render(variables)
    except JinjaError as exc:
        # Undefined variables, and the sandbox's SecurityError.
        raise TemplateError(f"{field}: {exc.message or type(exc).__name__}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # The template's own expressions (1/0, '2'|won on a word): this customer fails.
        raise TemplateError(f"{field}: {type(exc).__name__}: {exc}") from None
    except (MemoryError, RecursionError) as exc:
        raise TemplateError(f"{field}: {type(exc).__name__} while rendering") from None
    if len(out) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"{field}: rendered text longer than {MAX_OUTPUT_CHARS:,} characters")
    return out.strip()
