"""``flask network ...``: the Centres of Excellence network from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from surveyapp.network import planner
from surveyapp.network.criteria import BY_KEY
from surveyapp.vocabulary import AtmpType

network_cli = AppGroup("network", help="Plan the network of ATMP Centres of Excellence.")


@network_cli.command("plan")
@click.option("--size", default=planner.DEFAULT_SIZE, show_default=True, help="Centres at most.")
@click.option(
    "--require",
    multiple=True,
    help=f"Criteria every candidate must meet, separated by commas ({', '.join(BY_KEY)}).",
)
@click.option("--pin", multiple=True, help="Institution ids always in the proposal.")
@click.option("--exclude", multiple=True, help="Institution ids never in the proposal.")
@click.option(
    "--countries",
    default="EU",
    show_default=True,
    help="EU (the 27 member states), all, or ISO codes separated by commas (EU,CH adds one).",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the proposal to this CSV file.",
)
def plan_command(
    size: int,
    require: tuple[str, ...],
    pin: tuple[str, ...],
    exclude: tuple[str, ...],
    countries: str,
    csv_path: Path | None,
) -> None:
    """Propose at most SIZE centres covering the most technology platforms and ATMP types,
    then the most countries, and explain each pick. Reads the registry; changes nothing."""
    try:
        request = planner.PlanRequest(
            size=size,
            required=planner.parse_required(require),
            pins=planner.parse_ids(pin),
            excluded=frozenset(planner.parse_ids(exclude)),
            countries=planner.parse_countries(countries),
        )
        proposal = planner.plan_registry(request)
    except planner.PlanError as exc:
        raise click.UsageError(str(exc)) from exc
    for line in report_lines(proposal):
        click.echo(line)
    if csv_path is not None:
        csv_path.write_text(planner.proposal_csv(proposal), encoding="utf-8")
        click.echo(f"Proposal written to {csv_path}.")


def report_lines(proposal: planner.Plan) -> list[str]:
    """The proposal as the command prints it: the picks with what each adds and any
    conflict, then what is covered and what is not."""
    request = proposal.request
    method = (
        "every possible selection tried"
        if proposal.method == "exact"
        else "greedy picks improved by exchanges"
    )
    lines = [
        f"Proposal: {len(proposal.picks)} of at most {request.size} centres "
        f"({proposal.candidates} candidates besides the pins; {method})."
    ]
    if proposal.short:
        lines.append(
            f"Only {len(proposal.picks)} centres could be proposed: fewer candidates than "
            f"{request.size}."
        )
    for order, pick in enumerate(proposal.picks, start=1):
        centre = pick.centre
        pinned = ", pinned" if pick.pinned else ""
        lines.append(
            f"{order:>2}. {centre.name} (#{centre.id}, {centre.country or '??'}{pinned}, "
            f"{len(centre.met)} criteria met)"
        )
        lines.append(f"    adds: {planner.adds_text(pick)}")
        lines.extend(f"    conflict: {planner.conflict_text(c)}" for c in pick.conflicts)
    platforms = len(planner.platform_codes())
    lines.append(
        f"Covered: {len(proposal.platforms)} of {platforms} technology platforms, "
        f"{len(proposal.atmp_types)} of {len(AtmpType)} ATMP types, "
        f"{len(proposal.countries)} countries"
        + (f" ({', '.join(proposal.countries)})" if proposal.countries else "")
        + "."
    )
    lines.append(
        "Not covered by the proposal though a candidate covers it: "
        + _listed(proposal.uncovered_platforms, proposal.uncovered_atmp_types)
    )
    lines.append(
        "Covered by no candidate at all: "
        + _listed(proposal.unreachable_platforms, proposal.unreachable_atmp_types)
    )
    if proposal.countries_left_out:
        lines.append(
            "Countries with candidates but no pick: " + ", ".join(proposal.countries_left_out)
        )
    return lines


def _listed(platforms: tuple[str, ...], atmp_types: tuple[str, ...]) -> str:
    parts = []
    if platforms:
        parts.append("platforms: " + ", ".join(planner.platform_label(p) for p in platforms))
    if atmp_types:
        parts.append("ATMP types: " + ", ".join(planner.atmp_type_label(t) for t in atmp_types))
    return "; ".join(parts) if parts else "nothing"
