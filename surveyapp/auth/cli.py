"""``flask users ...``: create staff accounts from the shell (and the first admin)."""

from __future__ import annotations

import getpass
import os
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from surveyapp.auth import service, two_factor
from surveyapp.auth.models import User, UserRole
from surveyapp.auth.passwords import PasswordRejected
from surveyapp.extensions import db
from surveyapp.vocabulary import Role

users_cli = AppGroup("users", help="Create and list staff accounts.")
ROLE_CHOICE = click.Choice([r.value for r in Role])


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=ROLE_CHOICE,
    required=True,
    help="A role to give; repeat for several.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of generating one.",
)
def create_command(email: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Create a staff account; prints a generated password once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        created = service.create_user(
            email, [Role(r) for r in roles], actor=_actor(), password=password
        )
    except (service.AuthError, PasswordRejected) as exc:
        db.session.rollback()
        click.echo(f"Not created: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Created {created.user.email} with roles {', '.join(roles)}.")
    if created.generated_password:
        click.echo(f"Password (shown once, store it now): {created.generated_password}")


@users_cli.command("create-first-admin")
@click.option(
    "--email",
    default=lambda: os.environ.get("SURVEYAPP_FIRST_ADMIN_EMAIL", "admin@example.org"),
    show_default="admin@example.org or $SURVEYAPP_FIRST_ADMIN_EMAIL",
)
def create_first_admin_command(email: str) -> None:
    """Create an admin when there is no active one, printing its password once."""
    existing = db.session.scalar(
        select(User.email).join(UserRole).where(User.active, UserRole.role == Role.ADMIN).limit(1)
    )
    if existing:
        click.echo(f"An admin exists ({existing}); no account created.")
        return
    try:
        created = service.create_user(email, [Role.ADMIN], actor=_actor())
    except service.AuthError as exc:
        db.session.rollback()
        click.echo(f"Not created: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Created the first admin: {created.user.email}")
    click.echo(f"Password (shown once, store it now): {created.generated_password}")


@users_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """Switch off a user's two-factor login (lost phone and recovery codes), e.g. for the
    only admin; their sessions end and they set it up again."""
    user = service.find_user(email)
    if user is None:
        click.echo(f"No user has the email {email}.", err=True)
        sys.exit(1)
    two_factor.reset(user, actor=_actor())
    db.session.commit()
    click.echo(f"Two-factor login of {user.email} is off; it is set up again at the next login.")


@users_cli.command("list")
def list_command() -> None:
    """List staff accounts with their roles."""
    for user in service.list_users():
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.email}\t{','.join(r.value for r in user.roles)}\t{state}")
