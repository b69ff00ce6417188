"""Campaign email texts: defaults, checking, and rendering in a sandbox.

Coordinators write subject, plain-text and HTML bodies with placeholders
``{{ person }}``, ``{{ institution }}``, ``{{ link }}``, ``{{ deadline }}`` and
``{{ campaign }}``. Texts are rendered by Jinja's sandbox (HTML bodies autoescaped), so a
template can neither reach into the application nor inject markup through a contact's name.
Every email gets a footer with the opt-out link whatever the template says.

A template may ask the renderer for little: it is at most a few pages long, uses the
placeholders, conditions, a few text filters and loops over ``links`` only (no function
calls, no repetition by ``*``), and renders to at most :data:`MAX_RENDERED_CHARS`, so one
text can neither fill the worker's memory nor keep it looping (a 20 MB string or a loop of
millions of steps was accepted before).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment

from surveyapp.i18n import N_
from surveyapp.text_input import has_line_break

PLACEHOLDERS = ("person", "institution", "link", "links", "deadline", "campaign")

DEFAULTS: dict[str, str] = {
    "invitation_subject": N_("Please confirm your ATMP facility in the European registry"),
    "invitation_text": N_(
        "Dear {{ person }},\n\n"
        "The European registry of facilities for Advanced Therapy Medicinal Products is being "
        "completed for the planned network of ATMP Centres of Excellence. Please check what "
        "the registry holds about {{ institution }}, correct it where needed and tell us "
        "about your other programmes.\n\n"
        "Your personal link (no account needed):\n{{ link }}\n\n"
        "Please answer by {{ deadline }}. It takes a few minutes; you can save and return.\n\n"
        "Thank you,\nThe {{ campaign }} team\n"
    ),
    "invitation_html": N_(
        "<p>Dear {{ person }},</p>"
        "<p>The European registry of facilities for Advanced Therapy Medicinal Products is being "
        "completed for the planned network of ATMP Centres of Excellence. Please check what the "
        "registry holds about <strong>{{ institution }}</strong>, correct it where needed and "
        "tell us about your other programmes.</p>"
        '<p><a href="{{ link }}">Open your personal link</a> (no account needed).</p>'
        "<p>Please answer by {{ deadline }}. It takes a few minutes; you can save and "
        "return.</p><p>Thank you,<br>The {{ campaign }} team</p>"
    ),
    "reminder_subject": N_("Reminder: your ATMP facility in the European registry"),
    "reminder_text": N_(
        "Dear {{ person }},\n\n"
        "We have not yet received your answer about {{ institution }}. Your personal link:\n"
        "{{ link }}\n\nThe survey closes on {{ deadline }}.\n\nThank you,\n"
        "The {{ campaign }} team\n"
    ),
    "reminder_html": N_(
        "<p>Dear {{ person }},</p><p>We have not yet received your answer about "
        "<strong>{{ institution }}</strong>.</p>"
        '<p><a href="{{ link }}">Open your personal link</a></p>'
        "<p>The survey closes on {{ deadline }}.</p><p>Thank you,<br>The {{ campaign }} team</p>"
    ),
}

_TEXT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

SAMPLE = {
    "person": "Dr. Ada Example",
    "institution": "Example Cell Therapy Centre",
    "link": "https://registry.example.org/i/(personal link)",
    "links": [
        {
            "institution": "Example Cell Therapy Centre",
            "link": "https://registry.example.org/i/(personal link)",
        }
    ],
    "deadline": "31 December 2026",
    "campaign": "Example campaign",
}


class TemplateProblem(ValueError):
    """An email template cannot be rendered; the message names the field."""


# The longest text of each part a coordinator may write, in characters.
MAX_TEMPLATE_CHARS = {"subject": 300, "text": 20_000, "html": 50_000}
# The longest email body a template may render to.
MAX_RENDERED_CHARS = 200_000
# Filters that change a text without making it much longer.
ALLOWED_FILTERS = frozenset(
    {"capitalize", "default", "d", "e", "escape", "first", "last", "length", "lower"}
    | {"striptags", "title", "trim", "upper"}
)
# What an email text may be made of: text, placeholders and their attributes, conditions
# and comparisons, loops over links, a few filters. Everything else (calls such as range,
# assignments, which can double a string twenty times in a line each, concatenation,
# arithmetic, macros, includes) is refused: a short text could otherwise make rendering
# take unbounded time or memory before the output's length is ever checked.
_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Test,
    nodes.Filter,
    nodes.For,
)


def _refuse_costly(parsed: nodes.Template) -> None:
    """Raise TemplateProblem for anything beyond what an email text needs."""
    for node in parsed.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateProblem(
                f"{_what(node)} cannot be used in an email text (line {node.lineno}); "
                "use placeholders, if, and for over links"
            )
    for loop in parsed.find_all(nodes.For):
        if not (isinstance(loop.iter, nodes.Name) and loop.iter.name == "links"):
            raise TemplateProblem(f"loops may only go over links (line {loop.lineno})")
        if loop.recursive or any(True for _ in loop.find_all(nodes.For)):
            raise TemplateProblem(f"loops over links cannot be nested (line {loop.lineno})")
    for applied in parsed.find_all(nodes.Filter):
        if applied.name not in ALLOWED_FILTERS:
            raise TemplateProblem(
                f"the filter {applied.name!r} is not allowed (line {applied.lineno}); "
                f"use {', '.join(sorted(ALLOWED_FILTERS))}"
            )


def _what(node: nodes.Node) -> str:
    """A refused construct as a coordinator would name it."""
    names = {
        nodes.Call: "function calls",
        nodes.Assign: "set",
        nodes.AssignBlock: "set",
        nodes.Concat: "the ~ operator",
        nodes.Add: "the + operator",
        nodes.Mul: "the * operator",
        nodes.Pow: "the ** operator",
        nodes.Mod: "the % operator",
        nodes.Macro: "macros",
    }
    return names.get(type(node), f"{type(node).__name__.lower()} ({{% ... %}} or an expression)")


@lru_cache(maxsize=128)
def _compiled(template: str, html: bool) -> Template:
    """A template text checked for costly features and compiled once in the sandbox (a
    campaign sends the same texts to every contact; compiling them per email cost a third
    of the mail worker's time). Texts stored before the checks existed are checked here
    too, when they are first sent."""
    if len(template) > MAX_TEMPLATE_CHARS["html"]:
        raise TemplateProblem(f"the text is longer than {MAX_TEMPLATE_CHARS['html']} characters")
    environment = _HTML if html else _TEXT
    _refuse_costly(environment.parse(template))
    return environment.from_string(template)


def render(template: str, context: dict[str, Any], *, html: bool) -> str:
    """Render one template text in the sandbox, stopping once it exceeds
    :data:`MAX_RENDERED_CHARS`."""
    pieces: list[str] = []
    length = 0
    for piece in _compiled(template, html).generate(**context):
        length += len(piece)
        if length > MAX_RENDERED_CHARS:
            raise TemplateProblem(f"the email would be longer than {MAX_RENDERED_CHARS} characters")
        pieces.append(piece)
    return "".join(pieces)


def check(fields: dict[str, Any]) -> None:
    """Raise TemplateProblem naming the first template that does not render, is too long,
    asks for costly work, or (a subject) holds a line break, which no email header can."""
    for name in DEFAULTS:
        text, part = str(fields[name]), name.rsplit("_", 1)[1]
        if len(text) > MAX_TEMPLATE_CHARS[part]:
            raise TemplateProblem(f"{name}: longer than {MAX_TEMPLATE_CHARS[part]} characters")
        if part == "subject" and has_line_break(text):
            raise TemplateProblem(f"{name}: a subject is one line; remove the line break")
        try:
            render(text, SAMPLE, html=part == "html")
        except TemplateProblem as exc:
            raise TemplateProblem(f"{name}: {exc}") from exc
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"{name}: {exc.message} (line {exc.lineno})") from exc
        except UndefinedError as exc:
            raise TemplateProblem(
                f"{name}: {exc.message}; use only {', '.join(PLACEHOLDERS)}"
            ) from exc
        except Exception as exc:  # the sandbox refuses unsafe operations with several types
            raise TemplateProblem(f"{name}: {exc}") from exc
