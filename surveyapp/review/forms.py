"""The curators' forms: queue filters and the decision form built for one comparison.

They check shape only (lengths, known choices); what a decision means is the service's.
"""

from __future__ import annotations

import json
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from surveyapp.i18n import lazy_gettext as _l
from surveyapp.review.service import Comparison, FieldRow
from surveyapp.vocabulary import SubmissionStatus

TEXT_LIMIT = 5000


class QueueFilterForm(FlaskForm):
    """Filters of the review queue, read from the query string."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("open", _l("Waiting for a decision")), SelectChoice("all", _l("All"))]
        + [
            SelectChoice(s.value, _l(s.label))
            for s in SubmissionStatus
            if s != SubmissionStatus.DRAFT
        ],
        default="open",
    )
    campaign = SelectField(_l("Campaign"), choices=[SelectChoice("", _l("Any"))], default="")
    country = SelectField(_l("Country"), choices=[SelectChoice("", _l("Any"))], default="")
    older_than = IntegerField(
        _l("Waiting at least (days)"), validators=[Optional(), NumberRange(min=0, max=3650)]
    )
    unverified = SelectField(
        _l("Source"),
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("no", _l("Invited institutions")),
            SelectChoice("yes", _l("Public suggestions (unverified)")),
            SelectChoice("confirmed", _l("Public suggestions (email confirmed)")),
        ],
        default="",
    )
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice("oldest", _l("Oldest first")),
            SelectChoice("newest", _l("Newest first")),
            SelectChoice("institution", _l("Institution")),
            SelectChoice("country", _l("Country")),
        ],
        default="oldest",
    )


class BulkDismissForm(FlaskForm):
    """Dismiss unverified suggestions in bulk: the ones ticked or all those listed, then
    the same again with ``confirmed`` set from the confirmation page. The submission ids
    come as repeated ``listed`` and ``selected`` fields, read by the view."""

    scope = StringField(validators=[AnyOf(["listed", "selected"])])
    confirmed = HiddenField()


def _seen_versions(_form: FlaskForm, field: HiddenField) -> None:
    try:
        seen = json.loads(field.data or "")
    except ValueError:
        seen = None
    if not isinstance(seen, dict) or not all(
        isinstance(k, str) and isinstance(v, int) for k, v in seen.items()
    ):
        raise ValidationError(_l("The page was damaged; reload it and decide again."))


class DecisionForm(FlaskForm):
    """The parts of every decision: what the page showed, comments, reason, the button."""

    seen = HiddenField(validators=[DataRequired(), _seen_versions])
    merge_into = HiddenField()
    comment = TextAreaField(
        _l("Comment on the whole submission"), validators=[Length(max=TEXT_LIMIT)]
    )
    reason = TextAreaField(_l("Reason for rejecting"), validators=[Length(max=TEXT_LIMIT)])
    notify = BooleanField(_l("Send the reason to the respondent"))
    approve = SubmitField(_l("Approve and merge the chosen values"))
    request_changes = SubmitField(_l("Ask the respondent for changes"))
    reject = SubmitField(_l("Reject"))

    def seen_versions(self) -> dict[str, int]:
        """The row versions the page was built from (shape checked by the validator)."""
        return dict(json.loads(self.seen.data))


def field_name(row: FieldRow, part: str) -> str:
    """The form field name of one part (choice, custom, comment) of a row."""
    return f"{part}__{row.path.replace('.', '__')}"


def decision_form(comparison: Comparison, **kwargs: Any) -> DecisionForm:
    """A decision form with a choice, a corrected value and a comment for each row to decide."""

    class Form(DecisionForm):
        pass

    new_blocks = {b.index for b in comparison.blocks if b.kind == "new"}
    for row in comparison.choice_rows:
        in_new_block = row.path.startswith("entries.") and int(row.path.split(".")[1]) in new_blocks
        choices = [
            SelectChoice("submitted", _l("Take submitted")),
            SelectChoice("custom", _l("Correct it")),
        ]
        if comparison.institution is not None and not in_new_block:
            choices.insert(0, SelectChoice("registry", _l("Keep registry")))
        setattr(Form, field_name(row, "choice"), RadioField(choices=choices, default="submitted"))
        setattr(
            Form,
            field_name(row, "custom"),
            StringField(_l("Corrected value"), validators=[Length(max=TEXT_LIMIT)]),
        )
    for row in comparison.rows:
        setattr(
            Form,
            field_name(row, "comment"),
            StringField(_l("Comment"), validators=[Length(max=TEXT_LIMIT)]),
        )
    for block in comparison.blocks:
        if block.kind == "new":
            setattr(Form, f"add__{block.index}", BooleanField(_l("Add this entry"), default=True))
        if block.kind == "retire":
            setattr(
                Form, f"retire__{block.index}", BooleanField(_l("Retire this entry"), default=False)
            )
            setattr(
                Form,
                f"retire_reason__{block.index}",
                StringField(_l("Reason for retiring"), validators=[Length(max=TEXT_LIMIT)]),
            )
    return Form(**kwargs)


class DigestForm(FlaskForm):
    """A reviewer's choice to get the daily email of submissions waiting for review."""

    review_digest = BooleanField(
        _l("Email me once a day when new or resubmitted answers wait for review"),
        description=_l(
            "Sent only on days when something arrived since the last one, with a link to "
            "each submission."
        ),
    )
