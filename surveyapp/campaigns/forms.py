"""Coordinator forms for contacts and campaigns: they check shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from surveyapp.campaigns.templates import DEFAULTS
from surveyapp.definitions import available, load_definition
from surveyapp.i18n import gettext as _
from surveyapp.i18n import lazy_gettext as _l
from surveyapp.text_input import has_line_break


def one_line(_form: FlaskForm, field: Field) -> None:
    """Refuse a line break in a text that ends up in an email header (a name, a subject)."""
    if isinstance(field.data, str) and has_line_break(field.data):
        raise ValidationError(_l("This must be one line: remove the line break."))


class ContactForm(FlaskForm):
    """One contact, added or edited by hand."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField(_l("Contact person"), validators=[Optional(), Length(max=300), one_line])
    institution_name = StringField(
        _l("Institution (as they name it)"), validators=[Optional(), Length(max=500), one_line]
    )
    country = StringField(
        _l("Country"),
        validators=[Optional(), Length(max=100)],
        description=_l("A name or ISO code, e.g. Germany or DE."),
    )
    language = StringField(
        _l("Language"),
        default="en",
        validators=[Optional(), Length(max=40)],
        description=_l("A code such as en, de, fr."),
    )
    active = BooleanField(
        _l("Active: invite this contact"),
        default=True,
        description=_l("Nominated contacts start inactive until you check them."),
    )


class ContactImportForm(FlaskForm):
    """A CSV or XLSX file of contacts."""

    file = FileField(
        _l("File"),
        validators=[
            FileRequired(_l("Choose a file to import.")),
            FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
        ],
    )


class CampaignForm(FlaskForm):
    """A campaign's settings and email texts."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200), one_line])
    questionnaire = SelectField(
        _l("Questionnaire"),
        default="table1-v1",
        description=_l("Fixed once the campaign is created: answers keep the version asked."),
    )
    opens_on = DateField(_l("Opens on"), validators=[DataRequired()])
    closes_on = DateField(_l("Closes on"), validators=[DataRequired()])
    sender_name = StringField(
        _l("Sender name"), validators=[DataRequired(), Length(max=200), one_line]
    )
    sender_email = EmailField(_l("Sender address"), validators=[DataRequired(), Email()])
    reply_to = EmailField(_l("Reply-to address"), validators=[Optional(), Email()])
    default_language = StringField(
        _l("Default language"), default="en", validators=[DataRequired(), Length(max=8)]
    )
    remind_after_days = IntegerField(
        _l("Remind after (days)"), default=7, validators=[NumberRange(min=1, max=90)]
    )
    max_reminders = IntegerField(
        _l("At most this many reminders"), default=2, validators=[NumberRange(min=0, max=10)]
    )
    invitation_subject = StringField(
        _l("Invitation subject"),
        default=DEFAULTS["invitation_subject"],
        validators=[DataRequired(), Length(max=300), one_line],
    )
    invitation_text = TextAreaField(
        _l("Invitation, plain text"),
        default=DEFAULTS["invitation_text"],
        validators=[DataRequired()],
    )
    invitation_html = TextAreaField(
        _l("Invitation, HTML"), default=DEFAULTS["invitation_html"], validators=[DataRequired()]
    )
    reminder_subject = StringField(
        _l("Reminder subject"),
        default=DEFAULTS["reminder_subject"],
        validators=[DataRequired(), Length(max=300), one_line],
    )
    reminder_text = TextAreaField(
        _l("Reminder, plain text"), default=DEFAULTS["reminder_text"], validators=[DataRequired()]
    )
    reminder_html = TextAreaField(
        _l("Reminder, HTML"), default=DEFAULTS["reminder_html"], validators=[DataRequired()]
    )

    def settings(self) -> dict[str, object]:
        """The campaign fields this form sets."""
        return {
            name: field.data
            for name, field in self._fields.items()
            if name not in ("csrf_token", "name", "questionnaire")
        }

    def offer_questionnaires(self) -> None:
        """List the questionnaire versions in forms/ to choose from."""
        self.questionnaire.choices = [
            (definition.name, f"{definition.name}: {_(definition.title)}")
            for definition in (load_definition(*found) for found in available())
        ]


class CampaignTextsForm(FlaskForm):
    """A campaign's invitation and reminder texts in one language."""

    invitation_subject = StringField(
        _l("Invitation subject"), validators=[DataRequired(), Length(max=300), one_line]
    )
    invitation_text = TextAreaField(_l("Invitation, plain text"), validators=[DataRequired()])
    invitation_html = TextAreaField(_l("Invitation, HTML"), validators=[DataRequired()])
    reminder_subject = StringField(
        _l("Reminder subject"), validators=[DataRequired(), Length(max=300), one_line]
    )
    reminder_text = TextAreaField(_l("Reminder, plain text"), validators=[DataRequired()])
    reminder_html = TextAreaField(_l("Reminder, HTML"), validators=[DataRequired()])

    def texts(self) -> dict[str, str]:
        """The six texts as typed."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
