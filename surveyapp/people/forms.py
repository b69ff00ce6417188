"""The people pages' forms: which address, and the erasure's confirmation."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Email, Length

from surveyapp.i18n import lazy_gettext as _l


class PersonForm(FlaskForm):
    """The address an access or erasure request is about."""

    email = StringField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=320)])


class ErasureForm(FlaskForm):
    """Erasure cannot be undone: the admin types the address again to confirm it."""

    email = HiddenField(validators=[DataRequired()])
    confirmation = StringField(
        _l("Type the address again to confirm"), validators=[DataRequired(), Length(max=320)]
    )


class WithdrawalForm(FlaskForm):
    """One button: withdraw the consent to publish the contact."""
