"""Staff forms for logging in, second factors, passwords, tokens and users: shape only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from surveyapp.i18n import lazy_gettext as _l
from surveyapp.vocabulary import Role


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordChangeForm(FlaskForm):
    """One's own password: the current one, and the new one twice."""

    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=256)],
        description=_l(
            "At least 8 characters; 15 or more is better. A few unrelated words work well. "
            "Common passwords are refused."
        ),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", _l("The passwords differ."))],
    )


class TwoFactorCodeForm(FlaskForm):
    """A code from the authenticator app (or, at login, a recovery code)."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"inputmode": "text", "spellcheck": "false", "autocapitalize": "off"},
    )


class TokenForm(FlaskForm):
    """A name for a new API token."""

    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("Name it after the script that will use it."),
    )


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in Role.choices()]


class RoleField(SelectMultipleField):
    """Roles as a group of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class UserCreateForm(FlaskForm):
    """A new staff member: email and roles (the password is generated)."""

    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    roles = RoleField(
        _l("Roles"),
        choices=_role_choices(),
        validators=[DataRequired(_l("Choose at least one role."))],
    )


class UserRolesForm(FlaskForm):
    """A staff member's roles."""

    roles = RoleField(
        _l("Roles"),
        choices=_role_choices(),
        validators=[DataRequired(_l("Choose at least one role."))],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""
