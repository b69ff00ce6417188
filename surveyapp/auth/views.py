"""Logging in and out (public), and each staff member's own account page.

The account blueprint is open to every staff role; its role check is declared once below.
Logging in takes a second step for an account with two-factor login: after the password,
the session only remembers who is half-way (for a few minutes) and logs them in once the
code is right. A member of a role that needs two-factor login and has none is logged in but
sent to set it up, whatever page they ask for, until they have.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from surveyapp.auth import service, two_factor
from surveyapp.auth.access import STAFF, restrict, safe_next, start_session
from surveyapp.auth.forms import (
    ConfirmForm,
    LoginForm,
    PasswordChangeForm,
    TokenForm,
    TwoFactorCodeForm,
)
from surveyapp.auth.models import User
from surveyapp.auth.passwords import PasswordRejected
from surveyapp.extensions import db
from surveyapp.i18n import gettext as _

blueprint = Blueprint("auth", __name__)
account = Blueprint("account", __name__, url_prefix="/account")
restrict(account, STAFF)

PENDING = "two_factor_pending"
ENROLMENT_ENDPOINTS = frozenset(
    {
        "account.two_factor_setup",
        "account.start_two_factor",
        "account.confirm_two_factor",
        "auth.logout",
        "static",
    }
)


@blueprint.before_app_request
def _enrol_before_anything_else() -> Any:
    """Send a logged-in member of a role that needs two-factor login, and has none yet, to
    set it up; nothing else is open to them meanwhile (API tokens are not sessions)."""
    if "_user_id" not in session or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    if not current_user.is_authenticated or not two_factor.must_enrol(current_user):
        return None
    if request.path.startswith("/api/"):
        abort(403, description="Set up two-factor login for this account first.")
    return redirect(url_for("account.two_factor_setup"))


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
            next_url = safe_next(request.args.get("next"))
            session.clear()
            if user.has_two_factor:
                session[PENDING] = {"user": user.get_id(), "at": int(time.time()), "next": next_url}
                db.session.commit()
                return redirect(url_for("auth.login_code"))
            login_user(user)
            start_session()
            db.session.commit()
            return redirect(next_url or url_for("account.index"))
    elif form.is_submitted():
        error = service.LoginFailed.MESSAGE
    return render_template("auth/login.html", form=form, error=error), 200


def _pending_login() -> tuple[User | None, str | None]:
    """The user who gave the right password moments ago (not too long ago, and whose
    sessions have not been ended since), and where they were going."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, None
    limit = current_app.config["TWO_FACTOR_PENDING_MINUTES"] * 60
    user_id, _, version = str(pending.get("user", "")).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if (
        time.time() - pending.get("at", 0) > limit
        or user is None
        or not user.active
        or str(user.session_version) != version
    ):
        session.pop(PENDING, None)
        return None, None
    return user, pending.get("next")


@blueprint.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """The second step of logging in: a code from the authenticator app or a recovery code."""
    user, next_url = _pending_login()
    if user is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorCodeForm()
    error = None
    if form.validate_on_submit():
        try:
            method = two_factor.verify_second_step(
                user, form.code.data, request.remote_addr or "unknown"
            )
        except two_factor.TwoFactorError as failure:
            db.session.commit()
            error = str(failure)
        else:
            db.session.commit()
            session.clear()
            login_user(user)
            start_session()
            if method == "recovery":
                flash(
                    _(
                        "You used a recovery code; %(count)s remain.",
                        count=two_factor.remaining_recovery_codes(user),
                    ),
                    "info",
                )
            return redirect(next_url or url_for("account.index"))
    elif form.is_submitted():
        error = str(two_factor.TwoFactorError.MESSAGE)
    return render_template("auth/login_code.html", form=form, error=error), 200


@blueprint.post("/logout")
def logout() -> Any:
    """Log out, ending the user's sessions on the server side too."""
    if current_user.is_authenticated and ConfirmForm().validate_on_submit():
        service.logout(current_user, request.remote_addr)
        db.session.commit()
    return _end_this_session()


def _end_this_session() -> Any:
    """Forget who this browser is and say so."""
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@blueprint.errorhandler(CSRFError)
def _stale_form(error: CSRFError) -> Any:
    """A logout from a page left open until its CSRF token went stale still ends this
    browser's session (it left the session alive before); without a valid token nothing is
    written, so a forged request can do no more than log a browser out. Other forms get
    the usual 400 page."""
    if request.endpoint == "auth.logout":
        return _end_this_session()
    return render_template("error.html", error=error), 400


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


@account.get("/two-factor")
def two_factor_setup() -> Any:
    """Two-factor login: its state once set up, the QR code and secret while setting it up,
    else a button to start."""
    user = current_user._get_current_object()
    if user.has_two_factor:
        return render_template(
            "auth/two_factor.html",
            user=user,
            form=TwoFactorCodeForm(),
            remaining=two_factor.remaining_recovery_codes(user),
        )
    return _render_enrolment(user, TwoFactorCodeForm())


def _render_enrolment(user: User, form: TwoFactorCodeForm) -> Any:
    """The set-up page, never stored by a browser or proxy: it shows the secret."""
    secret = user.totp_secret
    response = current_app.make_response(
        render_template(
            "auth/two_factor.html",
            user=user,
            form=form,
            confirm=ConfirmForm(),
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
            if secret
            else None,
            qr_code=two_factor.qr_code(two_factor.provisioning_uri(user, secret))
            if secret
            else None,
            required=two_factor.required_for(user),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@account.post("/two-factor/start")
def start_two_factor() -> Any:
    """Make the secret to set up (kept, unconfirmed, until a code confirms it)."""
    user = current_user._get_current_object()
    if ConfirmForm().validate_on_submit() and not user.has_two_factor:
        two_factor.pending_secret(user)
        db.session.commit()
    return redirect(url_for("account.two_factor_setup"))


@account.post("/two-factor")
def confirm_two_factor() -> Any:
    """Switch two-factor login on with a current code; the recovery codes are shown once."""
    user = current_user._get_current_object()
    if user.has_two_factor:
        return redirect(url_for("account.two_factor_setup"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data)
        except service.AuthError as exc:
            db.session.rollback()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            session.clear()  # other sessions have ended: this one starts again
            login_user(user)
            start_session()
            return _recovery_codes_page(codes)
    return _render_enrolment(user, form), 400


@account.post("/two-factor/recovery-codes")
def renew_recovery_codes() -> Any:
    """Replace one's recovery codes, with a current code; the new ones are shown once."""
    user = current_user._get_current_object()
    if not user.has_two_factor:
        return redirect(url_for("account.two_factor_setup"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.renew_recovery_codes(
                user, form.code.data, request.remote_addr or "unknown"
            )
        except two_factor.TwoFactorError as failure:
            db.session.commit()  # the failed attempt counts
            form.code.errors.append(str(failure))
        else:
            db.session.commit()
            return _recovery_codes_page(codes)
    return render_template(
        "auth/two_factor.html",
        user=user,
        form=form,
        remaining=two_factor.remaining_recovery_codes(user),
    ), 400


def _recovery_codes_page(codes: list[str]) -> Any:
    response = current_app.make_response(render_template("auth/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response


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
