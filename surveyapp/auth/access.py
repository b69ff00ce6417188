"""Who may use what: the login manager, per-blueprint role declarations, session timeouts.

Each blueprint that is not public declares once, with :func:`restrict`, which roles may use
it; every view of it is then checked before it runs, so no view can forget. Anonymous users
are sent to the login page (API clients get 401), users without the role get 403.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, session
from flask_login import LoginManager, current_user, logout_user

from surveyapp.auth.models import User
from surveyapp.extensions import db
from surveyapp.vocabulary import Role

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see this page."
login_manager.login_message_category = "info"
login_manager.session_protection = None  # sessions are ended through session_version

STAFF = tuple(Role)
RESTRICTED: dict[str, tuple[Role, ...]] = {}


def restrict(blueprint: Blueprint, roles: Iterable[Role]) -> None:
    """Declare, once per blueprint, the roles that may use every one of its views."""
    allowed = tuple(roles)
    RESTRICTED[blueprint.name] = allowed

    @blueprint.before_request
    def _check_role() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.has_role(*allowed):
            abort(403, description="Your account does not have a role that may use this page.")
        return None


def is_staff() -> bool:
    """True when the request comes from a logged-in staff member or a staff API token."""
    return bool(current_user.is_authenticated)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


@login_manager.request_loader
def _load_user_from_token(req: Any) -> User | None:
    """API tokens work for the API only, never for staff pages."""
    from surveyapp.auth.service import user_for_token

    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith("/api/"):
        return None
    return user_for_token(header.removeprefix("Bearer ").strip())


def start_session() -> None:
    """Stamp a fresh session at login (the caller has cleared the old one)."""
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = False


def _enforce_timeouts(app: Flask) -> None:
    @app.before_request
    def _session_timeouts() -> None:
        if "login_at" not in session:
            return
        now = int(time.time())
        idle = app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = app.config["SESSION_ABSOLUTE_HOURS"] * 3600
        if now - session.get("seen_at", 0) > idle or now - session["login_at"] > absolute:
            logout_user()
            session.clear()
            flash("Your session has expired. Please log in again.", "info")
            return
        if now - session.get("seen_at", 0) >= 30:
            session["seen_at"] = now


def safe_next(target: str | None) -> str | None:
    """A local path to go to after login, or None for anything that could leave the site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def init_app(app: Flask) -> None:
    """Bind the login manager and the session checks to the application."""
    login_manager.init_app(app)
    _enforce_timeouts(app)
