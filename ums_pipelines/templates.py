"""Sandboxed rendering of message templates over whitelisted variables only.

The whitelist is the content item's declared variable schema (``content/spec.py``): a
template may use only declared variables, a declaration may read only the fields its
kind allows, and the renderer is given exactly the declared values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["TemplateError", "check_template", "render"]

_env = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


class TemplateError(ValueError):
    """A template that cannot be registered or rendered; the message names the field."""


def check_template(field: str, source: str, declared: Collection[str]) -> set[str]:
    """Parse once at registration: syntax, and every variable declared."""
    try:
        used = meta.find_undeclared_variables(_env.parse(source))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{field}: syntax error on line {exc.lineno}: {exc.message}") from None
    unknown = used - set(declared)
    if unknown:
        raise TemplateError(f"{field}: variables not declared: {', '.join(sorted(unknown))}")
    return set(used)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _env.from_string(source)


def render(field: str, source: str, variables: Mapping[str, Any]) -> str:
    """``variables`` are the declared ones only (the caller builds them from the schema)."""
    try:
        return _compiled(source).render(variables).strip()
    except JinjaError as exc:
        # Undefined variables, and the sandbox's SecurityError (unsafe attribute access).
        raise TemplateError(f"{field}: {exc.message}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # Errors inside the template's own expressions (1/0, a range over the sandbox
        # limit): a failed row for this customer, never an aborted enqueue of the job.
        raise TemplateError(f"{field}: {type(exc).__name__}: {exc}") from None
