"""Campaign email texts: defaults, checking, and rendering in a sandbox.

Coordinators write subject, plain-text and HTML bodies with placeholders
``{{ person }}``, ``{{ institution }}``, ``{{ link }}``, ``{{ deadline }}`` and
``{{ campaign }}``. Texts are rendered by Jinja's sandbox (HTML bodies autoescaped), so a
template can neither reach into the application nor inject markup through a contact's name.
Every email gets a footer with the opt-out link whatever the template says.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from surveyapp.i18n import N_

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


@lru_cache(maxsize=128)
def _compiled(template: str, html: bool) -> Template:
    """A template text compiled once in the sandbox (a campaign sends the same texts to
    every contact; compiling them per email cost a third of the mail worker's time)."""
    return (_HTML if html else _TEXT).from_string(template)


def render(template: str, context: dict[str, Any], *, html: bool) -> str:
    """Render one template text in the sandbox."""
    return _compiled(template, html).render(**context)


def check(fields: dict[str, Any]) -> None:
    """Raise TemplateProblem naming the first template that does not render."""
    for name in DEFAULTS:
        try:
            render(str(fields[name]), SAMPLE, html=name.endswith("_html"))
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"{name}: {exc.message} (line {exc.lineno})") from exc
        except UndefinedError as exc:
            raise TemplateProblem(
                f"{name}: {exc.message}; use only {', '.join(PLACEHOLDERS)}"
            ) from exc
        except Exception as exc:  # the sandbox refuses unsafe operations with several types
            raise TemplateProblem(f"{name}: {exc}") from exc
