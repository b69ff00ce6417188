"""The staff form that makes a release: its shape only (the version's rules are the
publishing service's)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from surveyapp.i18n import lazy_gettext as _l


class ReleaseForm(FlaskForm):
    """Version and notes of a new release."""

    version = StringField(
        _l("Version"),
        validators=[DataRequired(), Length(max=32)],
        description=_l(
            "Numbers separated by dots, higher than the latest release's: 1.0, 1.1, 2.0."
        ),
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Length(max=5000)],
        description=_l("What this release is for; shown with it and in its data package."),
    )
