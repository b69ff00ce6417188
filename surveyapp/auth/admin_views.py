"""Admins manage staff: add users, change their roles, deactivate, reset passwords and
switch off the second factor of someone who lost their phone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from surveyapp.auth import service, two_factor
from surveyapp.auth.access import restrict
from surveyapp.auth.forms import ConfirmForm, UserCreateForm, UserRolesForm
from surveyapp.auth.models import User
from surveyapp.auth.passwords import PasswordRejected
from surveyapp.extensions import db
from surveyapp.i18n import gettext as _
from surveyapp.vocabulary import Role

blueprint = Blueprint("users", __name__, url_prefix="/admin/users")
restrict(blueprint, [Role.ADMIN])


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=f"No user has id {user_id}.")
    return user


@blueprint.get("/")
def index() -> str:
    """Every staff member with roles, status and last login; a form to add one."""
    return render_template(
        "auth/users.html", users=service.list_users(), form=UserCreateForm(), confirm=ConfirmForm()
    )


@blueprint.post("/")
def create() -> Any:
    """Add a staff member; the generated password is shown once."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            created = service.create_user(
                form.email.data, [Role(r) for r in form.roles.data], actor=current_user.email
            )
        except (service.AuthError, PasswordRejected) as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            return render_template(
                "auth/password_once.html",
                user=created.user,
                password=created.generated_password,
                created=True,
            )
    return render_template(
        "auth/users.html", users=service.list_users(), form=form, confirm=ConfirmForm()
    ), 400


@blueprint.get("/<int:user_id>")
def edit(user_id: int) -> str:
    """One staff member: roles, status, password reset."""
    user = _user(user_id)
    form = UserRolesForm(data={"roles": [r.value for r in user.roles]})
    return render_template("auth/user.html", user=user, form=form, confirm=ConfirmForm())


@blueprint.post("/<int:user_id>/roles")
def change_roles(user_id: int) -> Any:
    """Replace a staff member's roles."""
    user = _user(user_id)
    form = UserRolesForm()
    if form.validate_on_submit():
        try:
            service.set_roles(user, [Role(r) for r in form.roles.data], actor=current_user)
        except service.AuthError as exc:
            db.session.rollback()
            form.roles.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Roles of %(email)s saved.", email=user.email), "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return render_template("auth/user.html", user=user, form=form, confirm=ConfirmForm()), 400


def _set_active(user_id: int, active: bool) -> Any:
    user = _user(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            service.set_active(user, active, actor=current_user)
        except service.AuthError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(
                _("%(email)s is now active.", email=user.email)
                if active
                else _("%(email)s is now deactivated.", email=user.email),
                "success",
            )
    return redirect(url_for("users.edit", user_id=user.id))


@blueprint.post("/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Any:
    """Deactivate an account: its sessions and tokens stop working at once."""
    return _set_active(user_id, False)


@blueprint.post("/<int:user_id>/activate")
def activate(user_id: int) -> Any:
    """Reactivate an account."""
    return _set_active(user_id, True)


@blueprint.post("/<int:user_id>/reset-password")
def reset_password(user_id: int) -> Any:
    """Generate a new password for a staff member, shown once; their sessions end."""
    user = _user(user_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("users.edit", user_id=user.id))
    password = service.reset_password(user, actor=current_user)
    db.session.commit()
    return render_template("auth/password_once.html", user=user, password=password, created=False)


@blueprint.post("/<int:user_id>/reset-two-factor")
def reset_two_factor(user_id: int) -> Any:
    """Switch off another staff member's two-factor login (a lost phone); their sessions end.

    An admin cannot reset their own: whoever holds only their password must not be able to.
    """
    user = _user(user_id)
    if ConfirmForm().validate_on_submit():
        if user.id == current_user.id:
            flash(_("Another admin must reset your own two-factor login."), "error")
        else:
            two_factor.reset(user, actor=current_user.email)
            db.session.commit()
            flash(
                _("Two-factor login of %(email)s is off; they set it up again.", email=user.email),
                "success",
            )
    return redirect(url_for("users.edit", user_id=user.id))
