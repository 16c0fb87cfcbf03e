"""Template injection corpus: every payload is refused at registration, renders inert, or
fails that one message safely; none reaches an object, a file, the environment or a
memory bomb, and render never raises anything but TemplateError."""

from __future__ import annotations

import os
from typing import Any

import pytest
from jinja2 import TemplateError as JinjaError

from ums_pipelines import templates
from ums_pipelines.templates import MAX_OUTPUT_CHARS, TemplateError, check_template, render

FIELD = "variants[sms].body"
DECLARED = ("name", "branch", "amount")
VALUES = {"name": "김민수", "branch": "강남지점", "amount": "1234567"}
SENTINEL = "ums-injection-sentinel-7c1f"
# What a leak looks like: an object's repr, a file's contents, the environment.
LEAK_MARKS = ("<class", "<function", "<built-in", "<module", "<bound", "<Template", "root:", "0x")

_NESTED_PARENS = "{{ " + "(" * 300 + "name" + ")" * 300 + " }}"
_NESTED_IFS = "{% if name %}" * 60 + "x" + "{% endif %}" * 60
_REPLACE_BOMB = "{{ name" + "|replace('', name ~ name ~ name)" * 8 + " }}"

# (payload, what the refusal names)
REFUSED = [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "calls"),
    ("{{ ''.__class__.__mro__[1] }}", "attribute access '.__mro__'"),
    ("{{ config }}", "variables not declared: config"),
    ("{{ config.items() }}", "calls"),
    ("{{ request }}", "variables not declared: request"),
    ("{{ request.application.__globals__ }}", "attribute access '.__globals__'"),
    ("{{ self }}", "the name 'self'"),
    ("{{ self.__init__.__globals__ }}", "attribute access '.__globals__'"),
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "calls"),
    ("{{ lipsum.__globals__ }}", "attribute access '.__globals__'"),
    ("{{ lipsum }}", "variables not declared: lipsum"),
    ("{{ joiner }}", "variables not declared: joiner"),
    ("{{ namespace() }}", "calls"),
    ("{{ range(10) }}", "calls"),
    ("{% for i in range(10**9) %}x{% endfor %}", "loops"),
    ("{% for c in name %}{{ c }}{% endfor %}", "loops"),
    ("{{ 'a' * 10**9 }}", "'*' on a string"),
    ("{{ [1] * 1000000 }}", "'*' on a string or a list"),
    ("{{ 9**9**9 }}", "'**' (power)"),
    ("{{ '%s' % name }}", "'%' (string formatting"),
    ("{{ '%(x)s' % {'x': name} }}", "'%' (string formatting"),
    ("{{ '{0.__class__}'.format(name) }}", "calls"),
    ("{{ name.format_map }}", "attribute access '.format_map'"),
    ("{{ name.upper() }}", "calls"),
    ("{{ ().__class__ }}", "attribute access '.__class__'"),
    ("{{ (name|string).__class__.__base__ }}", "attribute access '.__base__'"),
    (r"{{ name['\x5f\x5fclass\x5f\x5f'] }}", "item access"),
    ('{{ name["__class__"] }}', "item access"),
    ("{{ name[name] }}", "item access"),
    ("{{ name[0:10**9] }}", "item access"),
    ("{{ \"'\" ~ name.__class__ ~ '\"' }}", "attribute access '.__class__'"),
    ("{{ name|d(name.__class__) }}", "attribute access '.__class__'"),
    ("{{ name|attr('__class__') }}", "the filter 'attr'"),
    ("{{ name|map(attribute='__class__')|list }}", "the filter 'list'"),
    ("{{ name|format(name) }}", "the filter 'format'"),
    ("{{ name|xmlattr }}", "the filter 'xmlattr'"),
    ("{{ name|center(1000000000) }}", "the filter 'center'"),
    ("{{ name|default(*name) }}", "*args or **kwargs"),
    ("{{ name is sameas name }}", "the test 'sameas'"),
    ("{% include '/etc/passwd' %}", "{% include %}"),
    ("{% import 'os' as os %}", "{% import %}"),
    ("{% from 'os' import popen %}", "{% from ... import %}"),
    ("{% extends '/etc/passwd' %}", "{% extends %}"),
    ("{% block body %}{{ name }}{% endblock %}", "{% block %}"),
    ("{% set x = name.__class__ %}{{ x }}", "assignments ({% set %})"),
    ("{% set x %}{{ name }}{% endset %}{{ x }}", "assignments ({% set %})"),
    ("{% macro m() %}{{ name }}{% endmacro %}{{ m() }}", "macros"),
    ("{% call name() %}x{% endcall %}", "{% call %}"),
    ("{% filter upper %}{{ name }}{% endfilter %}", "{% filter %}"),
    ("{% with x = name %}{{ x }}{% endwith %}", "{% with %}"),
    ("{% autoescape false %}{{ name }}{% endautoescape %}", "{% autoescape %}"),
    ("{% debug %}", "syntax error on line 1"),
    ("{% do name.append(1) %}", "syntax error on line 1"),
    ("{{ loop }}", "the name 'loop'"),
    ("{{ caller }}", "the name 'caller'"),
    ("{{ _private }}", "the name '_private'"),
    ("x" * (templates.MAX_SOURCE_CHARS + 1), "more than the 64,000 allowed"),
    (_NESTED_PARENS, "nesting deeper than"),
    (_NESTED_IFS, "nesting deeper than"),
    ("{{ " + "9" * 5000 + " }}", "cannot compile"),
]

# (payload, values over VALUES, the exact output)
INERT = [
    ("{% raw %}{{ ''.__class__ }}{% endraw %}", {}, "{{ ''.__class__ }}"),
    ("{{ '{{ 7*7 }}' }}", {}, "{{ 7*7 }}"),
    ("{{ name }}", {"name": "{{ 7*7 }}"}, "{{ 7*7 }}"),
    ("{{ name }}", {"name": "{{ ''.__class__.__mro__ }}"}, "{{ ''.__class__.__mro__ }}"),
    ("{{ name }}님", {"name": "{% include '/etc/passwd' %}"}, "{% include '/etc/passwd' %}님"),
    ("{{ name|upper }}", {"name": "{{ config.items() }}"}, "{{ CONFIG.ITEMS() }}"),
    ("{{ name }}", {"name": "%s %(x)s {0}"}, "%s %(x)s {0}"),
    ("{# {{ ''.__class__ }} #}안내", {}, "안내"),
    ("{{ '\\u005f\\u005fclass\\u005f\\u005f' }}", {}, "__class__"),
    ("{{ name ~ '.__class__' }}", {}, "김민수.__class__"),
    ("{{ '__globals__' in name }}", {}, "False"),
    ("{{ 7*7 }}", {}, "49"),
    ("{{ name[:1] }}**", {}, "김**"),
    ("{{ amount|won }}원", {}, "1,234,567원"),
    ("{% if name == 'admin' %}{{ branch }}{% else %}{{ name }}{% endif %}", {}, "김민수"),
]

# Registered (nothing unsafe is visible in the source), then contained when rendered.
FAILS_SAFELY = [
    ("{{ name * 1000000000 }}", {}, "allowed on numbers only"),
    ("{{ name * name }}", {}, "allowed on numbers only"),
    ("{{ " + " * ".join(["99999999999"] * 30) + " }}", {}, "too large"),
    (_REPLACE_BOMB, {}, "replace: the result would exceed"),
    ("{{ 1 / 0 }}", {}, "ZeroDivisionError"),
    ("{{ name[10] }}", {}, "no element 10"),
    ("{{ name|won }}", {}, "won: the value is not a number"),
    ("{{ amount|won }}", {"amount": "1e999999999"}, "won: the amount is out of range"),
    ("{{ name }}", {"name": "가" * (MAX_OUTPUT_CHARS + 1)}, "rendered text longer than"),
]


def _render_contained(source: str, values: dict[str, Any]) -> str | TemplateError:
    """Render, failing the test on any exception other than TemplateError."""
    try:
        return render(FIELD, source, values)
    except TemplateError as exc:
        return exc
    except Exception as exc:  # the point: nothing else escapes (MemoryError included)
        pytest.fail(f"render raised {type(exc).__name__}, not TemplateError: {exc}")


def test_the_corpus_is_large_enough() -> None:
    assert len(REFUSED) + len(INERT) + len(FAILS_SAFELY) >= 30


@pytest.mark.parametrize(("payload", "reason"), REFUSED, ids=[p[:40] for p, _ in REFUSED])
def test_payload_is_refused_at_registration(payload: str, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        check_template(FIELD, payload, DECLARED)
    assert str(info.value).startswith(f"{FIELD}: ")
    assert reason in str(info.value)


@pytest.mark.parametrize(("payload", "reason"), REFUSED, ids=[p[:40] for p, _ in REFUSED])
def test_refused_payload_is_refused_at_render_too(payload: str, reason: str) -> None:
    """A template that never went through registration (an old row, a direct call)."""
    out = _render_contained(payload, VALUES)
    assert isinstance(out, TemplateError), f"rendered: {out!r}"
    assert str(out).startswith(f"{FIELD}: ")


@pytest.mark.parametrize(("payload", "values", "expected"), INERT)
def test_payload_renders_inert(
    payload: str, values: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UMS_INJECTION_SENTINEL", SENTINEL)
    check_template(FIELD, payload, DECLARED)
    out = _render_contained(payload, {**VALUES, **values})
    assert out == expected
    assert SENTINEL not in out and os.environ["UMS_INJECTION_SENTINEL"] == SENTINEL
    assert not any(mark in out for mark in LEAK_MARKS if mark not in expected)


@pytest.mark.parametrize(("payload", "values", "reason"), FAILS_SAFELY, ids=range(9))
def test_payload_registers_but_fails_only_its_message(
    payload: str, values: dict[str, str], reason: str
) -> None:
    check_template(FIELD, payload, DECLARED)
    out = _render_contained(payload, {**VALUES, **values})
    assert isinstance(out, TemplateError), f"rendered: {out[:80]!r}"
    assert str(out).startswith(f"{FIELD}: ") and reason in str(out)


@pytest.mark.parametrize(
    "payload",
    [
        "{{ name.__class__ }}",
        "{{ name['__class__'] }}",
        "{{ name.format_map }}",
        "{{ name.upper() }}",
        "{{ 'a' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{{ 9**9**9 }}",
        "{{ '%s' % name }}",
        "{{ lipsum }}",
        "{{ cycler }}",
        "{{ range(3) }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ name|attr('__class__') }}",
        "{{ name|format(name) }}",
    ],
)
def test_the_render_environment_holds_without_the_registration_check(payload: str) -> None:
    """Defence in depth: compiled straight from source, skipping the AST check, the
    environment still refuses attributes, calls, globals, unsafe filters and bombs."""
    with pytest.raises(JinjaError):
        templates._env.from_string(payload).render(VALUES)
