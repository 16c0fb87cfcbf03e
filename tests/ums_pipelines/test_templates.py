"""The template sandbox: whitelisted variables only, unsafe access refused with a clear error."""

from __future__ import annotations

import pytest

from ums_pipelines.templates import TemplateError, check_template, render

VALUES = {"name": "김민수", "branch": "강남지점", "today": "2024-05-01"}


def test_render_substitutes_and_strips() -> None:
    out = render("body", "  {{ name }}님, {{ branch }} ({{ today }})\n", VALUES)
    assert out == "김민수님, 강남지점 (2024-05-01)"


def test_unknown_variable_at_render_names_field_and_variable() -> None:
    with pytest.raises(TemplateError) as info:
        render("variants[sms].body", "{{ name }} {{ balance }}", VALUES)
    assert "variants[sms].body" in str(info.value)
    assert "balance" in str(info.value)


def test_missing_declared_variable_is_not_rendered_as_empty() -> None:
    with pytest.raises(TemplateError, match="branch"):
        render("body", "{{ name }} {{ branch }}", {"name": "김"})


@pytest.mark.parametrize(
    "source",
    [
        "{{ name.__class__ }}",
        "{{ name.__class__.__mro__[1].__subclasses__() }}",
        "{{ '{0.__class__}'.format(name) }}",
        "{{ name.upper.__globals__ }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ 1 / 0 }}",
    ],
)
def test_unsafe_or_broken_template_is_a_template_error(source: str) -> None:
    """Never a jinja2 or Python exception: compose turns TemplateError into a failed row,
    anything else would abort the whole job's enqueue."""
    with pytest.raises(TemplateError) as info:
        render("variants[sms].body", source, VALUES)
    assert str(info.value).startswith("variants[sms].body: ")


def test_safe_string_methods_still_work() -> None:
    assert render("body", "{{ name | length }} {{ branch[:2] }}", VALUES) == "3 강남"


def test_check_template_returns_variables_used() -> None:
    assert check_template("body", "{{ name }} {{ name }} {{ today }}", ["name", "today"]) == {
        "name",
        "today",
    }
    assert check_template("body", "고정 문구", []) == set()


def test_check_template_refuses_undeclared_variables() -> None:
    with pytest.raises(TemplateError, match=r"body: variables not declared: branch, today"):
        check_template("body", "{{ today }} {{ name }} {{ branch }}", ["name"])


def test_check_template_syntax_error_names_field_and_line() -> None:
    with pytest.raises(TemplateError, match=r"subject: syntax error on line 2"):
        check_template("subject", "ok\n{{ name ", ["name"])


def test_loops_are_refused_at_registration() -> None:
    """Loops were once allowed (their variables were not taken for inputs); a message
    template needs none, and ``range(10**9)`` made them a denial of service."""
    with pytest.raises(TemplateError, match=r"body: unsafe template construct: loops"):
        check_template("body", "{% for c in name %}{{ c }}{% endfor %}", ["name"])
