"""Coordinator forms for contacts and campaigns: they check shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from surveyapp.campaigns.templates import DEFAULTS


class ContactForm(FlaskForm):
    """One contact, added or edited by hand."""

    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField("Contact person", validators=[Optional(), Length(max=300)])
    institution_name = StringField(
        "Institution (as they name it)", validators=[Optional(), Length(max=500)]
    )
    country = StringField(
        "Country",
        validators=[Optional(), Length(max=100)],
        description="A name or ISO code, e.g. Germany or DE.",
    )
    language = StringField(
        "Language",
        default="en",
        validators=[Optional(), Length(max=40)],
        description="A code such as en, de, fr.",
    )
    active = BooleanField(
        "Active: invite this contact",
        default=True,
        description="Nominated contacts start inactive until you check them.",
    )


class ContactImportForm(FlaskForm):
    """A CSV or XLSX file of contacts."""

    file = FileField(
        "File",
        validators=[
            FileRequired("Choose a file to import."),
            FileAllowed(["csv", "xlsx"], "Only .csv and .xlsx files can be imported."),
        ],
    )


class CampaignForm(FlaskForm):
    """A campaign's settings and email texts."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    opens_on = DateField("Opens on", validators=[DataRequired()])
    closes_on = DateField("Closes on", validators=[DataRequired()])
    sender_name = StringField("Sender name", validators=[DataRequired(), Length(max=200)])
    sender_email = EmailField("Sender address", validators=[DataRequired(), Email()])
    reply_to = EmailField("Reply-to address", validators=[Optional(), Email()])
    default_language = StringField(
        "Default language", default="en", validators=[DataRequired(), Length(max=8)]
    )
    remind_after_days = IntegerField(
        "Remind after (days)", default=7, validators=[NumberRange(min=1, max=90)]
    )
    max_reminders = IntegerField(
        "At most this many reminders", default=2, validators=[NumberRange(min=0, max=10)]
    )
    invitation_subject = StringField(
        "Invitation subject",
        default=DEFAULTS["invitation_subject"],
        validators=[DataRequired(), Length(max=300)],
    )
    invitation_text = TextAreaField(
        "Invitation, plain text", default=DEFAULTS["invitation_text"], validators=[DataRequired()]
    )
    invitation_html = TextAreaField(
        "Invitation, HTML", default=DEFAULTS["invitation_html"], validators=[DataRequired()]
    )
    reminder_subject = StringField(
        "Reminder subject",
        default=DEFAULTS["reminder_subject"],
        validators=[DataRequired(), Length(max=300)],
    )
    reminder_text = TextAreaField(
        "Reminder, plain text", default=DEFAULTS["reminder_text"], validators=[DataRequired()]
    )
    reminder_html = TextAreaField(
        "Reminder, HTML", default=DEFAULTS["reminder_html"], validators=[DataRequired()]
    )

    def settings(self) -> dict[str, object]:
        """The campaign fields this form sets."""
        return {
            name: field.data
            for name, field in self._fields.items()
            if name not in ("csrf_token", "name")
        }
