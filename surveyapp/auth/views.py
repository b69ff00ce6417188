"""Logging in and out (public), and each staff member's own account page.

The account blueprint is open to every staff role; its role check is declared once below.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from surveyapp.auth import service
from surveyapp.auth.access import STAFF, restrict, safe_next, start_session
from surveyapp.auth.forms import (
    ConfirmForm,
    LoginForm,
    PasswordChangeForm,
    TokenForm,
)
from surveyapp.auth.passwords import PasswordRejected
from surveyapp.extensions import db
from surveyapp.i18n import gettext as _

blueprint = Blueprint("auth", __name__)
account = Blueprint("account", __name__, url_prefix="/account")
restrict(account, STAFF)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; one generic message for every failure."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("account.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = service.authenticate(
                form.email.data, form.password.data, request.remote_addr or "unknown"
            )
        except service.LoginFailed as failure:
            db.session.commit()
            error = str(failure)
        else:
            session.clear()
            login_user(user)
            start_session()
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("account.index"))
    elif form.is_submitted():
        error = service.LoginFailed.MESSAGE
    return render_template("auth/login.html", form=form, error=error), 200


@blueprint.post("/logout")
def logout() -> Any:
    """Log out, ending the user's sessions on the server side too."""
    if current_user.is_authenticated and ConfirmForm().validate_on_submit():
        service.logout(current_user, request.remote_addr)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@account.get("/")
def index() -> str:
    """The staff member's account: roles, password change, API tokens (and, for reviewers,
    the review digest, which the review area adds to the page)."""
    return _render_account()


def _render_account(**extra: Any) -> str:
    return render_template(
        "auth/account.html",
        password_form=extra.pop("password_form", None) or PasswordChangeForm(),
        token_form=extra.pop("token_form", None) or TokenForm(),
        confirm=ConfirmForm(),
        **extra,
    )


@account.post("/password")
def change_password() -> Any:
    """Change one's own password; other sessions end, this one continues."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            service.change_password(current_user, form.current.data, form.new.data)
        except PasswordRejected as exc:
            db.session.rollback()
            form.new.errors.append(str(exc))
        except service.AuthError as exc:
            db.session.rollback()
            form.current.errors.append(str(exc))
        else:
            user = current_user._get_current_object()
            db.session.commit()
            session.clear()
            login_user(user)
            start_session()
            flash(_("Your password has been changed. Other sessions have ended."), "success")
            return redirect(url_for("account.index"))
    return _render_account(password_form=form), 400


@account.post("/tokens")
def create_token() -> Any:
    """Create an API token and show it once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_account(token_form=form), 400
    try:
        token = service.create_token(current_user, form.name.data)
    except service.AuthError as exc:
        form.name.errors.append(str(exc))
        return _render_account(token_form=form), 400
    db.session.commit()
    return _render_account(new_token=token)


@account.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    """Revoke one of one's own tokens."""
    if ConfirmForm().validate_on_submit():
        try:
            token = service.revoke_token(current_user, token_id)
        except service.AuthError:
            return _render_account(), 404
        db.session.commit()
        flash(_("Token %(name)s has been revoked.", name=token.name), "success")
    return redirect(url_for("account.index"))
