"""Email templates ask the renderer for little: bounded size, no calls, repetition or
%-formatting, loops over links only, and a bounded output (issue 17: a 20 MB text and a
loop of millions of steps were accepted)."""

from __future__ import annotations

import re

import pytest

from surveyapp.campaigns import templates
from surveyapp.campaigns.templates import DEFAULTS, SAMPLE, TemplateProblem


def texts(**changes: str) -> dict[str, str]:
    """The default texts with some changed."""
    return {**DEFAULTS, **changes}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{% for i in range(4000000) %}{% endfor %}", "function calls cannot be used"),
        ("{{ person.upper() }}", "function calls cannot be used"),
        ("{{ 'x' * 100000000 }}", "the * operator cannot be used"),
        ("{{ 9 ** 9 ** 9 }}", "the ** operator cannot be used"),
        ("{{ '%999999999s' % person }}", "the % operator cannot be used"),
        ("{{ person|center(100000000) }}", "the filter 'center' is not allowed"),
        ("{% macro m() %}x{% endmacro %}", "macros cannot be used"),
        # twenty lines that each double a string would need gigabytes before any check
        ("{% set x = campaign %}" + "{% set x = x ~ x %}" * 22 + "{{ x }}", "set cannot be used"),
        ("{{ person ~ person }}", "the ~ operator cannot be used"),
        ("{{ person + person }}", "the + operator cannot be used"),
        ("{% include 'base.html' %}", "cannot be used"),
        ("{% for c in person %}{{ c }}{% endfor %}", "loops may only go over links"),
        (
            "{% for a in links %}{% for b in links %}x{% endfor %}{% endfor %}",
            "cannot be nested",
        ),
        ("x" * 20_001, "longer than 20000 characters"),
    ],
)
def test_costly_texts_are_refused_naming_the_field(text, problem):
    with pytest.raises(TemplateProblem, match="^invitation_text: .*" + re.escape(problem)):
        templates.check(texts(invitation_text=text))


def test_a_subject_is_short_and_one_line():
    with pytest.raises(TemplateProblem, match="reminder_subject: longer than 300"):
        templates.check(texts(reminder_subject="x" * 301))
    with pytest.raises(TemplateProblem, match="reminder_subject: a subject is one line"):
        templates.check(texts(reminder_subject="Reminder\nBcc: x@example.org"))


def test_what_coordinators_write_still_renders():
    written = (
        "Dear {{ person|title }},\n{% if links|length > 1 %}Your links:\n{% endif %}"
        "{% for item in links %}- {{ item.institution }}: {{ item.link }}"
        "{% if not loop.last %}\n{% endif %}{% endfor %}\n{{ campaign|upper }} {{ deadline }}"
    )
    templates.check(texts(invitation_text=written))
    rendered = templates.render(written, SAMPLE, html=False)
    assert rendered.startswith("Dear Dr. Ada Example,\n- Example Cell Therapy Centre: https://")


def test_a_text_stored_before_the_checks_is_refused_when_sent():
    with pytest.raises(TemplateProblem, match="function calls"):
        templates.render("{{ range(10)|length }}", SAMPLE, html=False)


def test_rendering_stops_at_the_longest_email():
    huge = {**SAMPLE, "person": "x" * (templates.MAX_RENDERED_CHARS + 1)}
    with pytest.raises(TemplateProblem, match="longer than 200000 characters"):
        templates.render("{{ person }}", huge, html=False)
