"""``flask campaigns export-responses`` and ``export-non-responders``: a campaign's raw
answers for staff, as LimeSurvey and REDCap users expect them.

They read submissions, so they live with the questionnaire and join the campaigns group
from here (the campaigns package stands below the questionnaire).
"""

from __future__ import annotations

from pathlib import Path

import click

from surveyapp.campaigns import service
from surveyapp.campaigns.cli import campaigns_cli, command_actor, fail
from surveyapp.extensions import db
from surveyapp.history.service import audit
from surveyapp.questionnaire import responses_export


def _export(name: str, path: Path, fmt: str, what: str) -> None:
    try:
        campaign = service.find_campaign(name)
    except service.CampaignError as exc:
        fail(str(exc))
    rows = (
        responses_export.response_rows(campaign)
        if what == "responses"
        else responses_export.non_responder_rows(campaign)
    )
    path.write_bytes(responses_export.write(rows, fmt, what))
    audit(
        f"campaign.export_{what.replace('-', '_')}",
        command_actor(),
        target_type="campaign",
        target_id=campaign.id,
        format=fmt,
    )
    db.session.commit()
    click.echo(f"Wrote the {what} of {campaign.name!r} to {path}.")


@campaigns_cli.command("export-responses")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(responses_export.FORMATS), default="csv")
def export_responses_command(name: str, path: Path, fmt: str) -> None:
    """Write every submission of campaign NAME with its answers, one row per programme
    block (personal fields included)."""
    _export(name, path, fmt, "responses")


@campaigns_cli.command("export-non-responders")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(responses_export.FORMATS), default="csv")
def export_non_responders_command(name: str, path: Path, fmt: str) -> None:
    """Write the invitations of campaign NAME that have no submitted answer, with their
    state."""
    _export(name, path, fmt, "non-responders")
