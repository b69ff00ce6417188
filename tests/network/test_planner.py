"""The network planner proposes at most N centres covering the most technology platforms
and ATMP types, then the most countries, explains each pick and what stays uncovered, and
does the same from the command line, as CSV and on the coordinators' page.

Every registry here is built by hand so that its best answer is known."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import pytest

from surveyapp.extensions import db
from surveyapp.network import planner
from surveyapp.network.criteria import CRITERIA
from surveyapp.network.planner import Centre, PlanError, PlanRequest, plan
from surveyapp.registry.models import Entry, Institution
from surveyapp.vocabulary import AtmpType, EntryStatus, Role

ALL = frozenset(c.key for c in CRITERIA)
ALL_MET_ANSWERS = {
    "biocluster_companies": 12,
    "biocluster_institutes": 4,
    "gmp_manufacturing": "own_facility",
    "clinical_trial_unit": "yes",
    "stages_covered": ["discovery", "preclinical", "phase_1"],
    "research_programme": "yes",
    "technology_transfer_office": "yes",
    "training_programmes": "yes",
    "outreach": "no",
}


def centre(
    id: int,
    name: str,
    country: str | None = "DE",
    platforms: Iterable[str] = (),
    types: Iterable[str] = (),
    met: Iterable[str] = ALL,
    active: bool = True,
) -> Centre:
    return Centre(id, name, country, frozenset(platforms), frozenset(types), frozenset(met), active)


def names(proposal: planner.Plan) -> list[str]:
    return [pick.centre.name for pick in proposal.picks]


# The method, on centres built by hand.


def test_the_best_pair_beats_the_largest_centre(ctx, monkeypatch) -> None:
    """Greedy picking alone takes the centre covering most (4) and ends with 5; the best
    pair covers 6. Exact search finds it, and so does greedy picking with exchanges."""
    centres = [
        centre(1, "Largest", platforms=["car_t", "tcr", "msc", "gene_editing"]),
        centre(2, "Left", platforms=["car_t", "tcr"], types=["gene_therapy"]),
        centre(3, "Right", platforms=["msc", "gene_editing"], types=["combined"]),
    ]
    exact = plan(centres, PlanRequest(size=2))
    assert exact.method == "exact"
    assert sorted(names(exact)) == ["Left", "Right"]
    assert len(exact.platforms) + len(exact.atmp_types) == 6

    monkeypatch.setattr(planner, "EXACT_LIMIT", 0)
    greedy = plan(centres, PlanRequest(size=2))
    assert greedy.method == "greedy"
    assert sorted(names(greedy)) == ["Left", "Right"]


def test_platforms_and_atmp_types_come_before_countries(ctx) -> None:
    """Two centres in one country covering three things beat two countries covering two."""
    centres = [
        centre(1, "Berlin", "DE", platforms=["car_t", "msc"]),
        centre(2, "Munich", "DE", platforms=["tcr"]),
        centre(3, "Paris", "FR", platforms=["car_t"]),
    ]
    assert names(plan(centres, PlanRequest(size=2))) == ["Berlin", "Munich"]


def test_among_equal_coverage_a_new_country_wins_and_is_explained(ctx) -> None:
    centres = [
        centre(1, "Berlin", "DE", platforms=["car_t", "msc"], types=["gene_therapy"]),
        centre(2, "Munich", "DE", platforms=["tcr"]),
        centre(3, "Vienna", "AT", platforms=["tcr"]),
    ]
    proposal = plan(centres, PlanRequest(size=2))
    assert names(proposal) == ["Berlin", "Vienna"]
    first, second = proposal.picks
    assert first.adds_platforms == ("car_t", "msc")
    assert first.adds_atmp_types == ("gene_therapy",)
    assert first.adds_country == "DE"
    assert (second.adds_platforms, second.adds_atmp_types, second.adds_country) == (
        ("tcr",),
        (),
        "AT",
    )
    assert planner.adds_text(second) == "platforms: TCR-engineered T cells; country: Austria"
    assert proposal.countries == ("AT", "DE")


def test_ties_go_to_more_criteria_met_then_name_then_id(ctx) -> None:
    same = {"platforms": ["car_t"], "country": "DE"}
    fewer_met = centre(1, "Aachen", met=ALL - {"gmp"}, **same)
    zeta = centre(2, "Zeta", **same)
    alpha_late = centre(9, "Alpha", **same)
    alpha_early = centre(5, "alpha", **same)
    proposal = plan([fewer_met, zeta, alpha_late, alpha_early], PlanRequest(size=1))
    assert [p.centre.id for p in proposal.picks] == [5]
    assert [p.centre.id for p in plan([fewer_met, zeta], PlanRequest(size=1)).picks] == [2]
    # The same registry gives the same proposal whatever order it is read in.
    again = plan([alpha_early, alpha_late, zeta, fewer_met], PlanRequest(size=3))
    assert (
        again.picks == plan([fewer_met, zeta, alpha_late, alpha_early], PlanRequest(size=3)).picks
    )


def test_required_criteria_leave_out_centres_that_do_not_meet_them(ctx) -> None:
    centres = [
        centre(1, "No GMP", platforms=["car_t", "tcr", "msc"], met=ALL - {"gmp"}),
        centre(2, "Unknown trials", platforms=["car_t", "tcr"], met=ALL - {"trials"}),
        centre(3, "Both", platforms=["msc"]),
    ]
    proposal = plan(centres, PlanRequest(size=2, required=("gmp", "trials")))
    assert names(proposal) == ["Both"]
    assert proposal.candidates == 1
    assert plan(centres, PlanRequest(size=1)).picks[0].centre.name == "No GMP"


def test_a_pin_failing_a_requirement_or_outside_the_countries_is_kept_with_its_conflict(
    ctx,
) -> None:
    centres = [
        centre(1, "Geneva", "CH", platforms=["car_t"], met=ALL - {"gmp"}),
        centre(2, "Berlin", "DE", platforms=["car_t", "msc"]),
        centre(3, "Madrid", "ES", platforms=["tcr"]),
        centre(4, "Lyon", "FR", platforms=["msc", "tcr"], met=ALL - {"biocluster"}),
    ]
    proposal = plan(centres, PlanRequest(size=2, required=("gmp",), pins=(1,)))
    pin, other = proposal.picks
    assert (pin.centre.name, pin.pinned) == ("Geneva", True)
    assert {(c.kind, c.detail) for c in pin.conflicts} == {("criterion", "gmp"), ("country", "CH")}
    assert planner.conflict_text(pin.conflicts[0]) == "does not meet “GMP manufacturing”"
    assert planner.conflict_text(pin.conflicts[1]) == (
        "lies outside the chosen countries (Switzerland)"
    )
    # The pick after the pin is judged by what it adds to the pin: Lyon's two platforms
    # beat Berlin's one (car_t is the pin's already).
    assert (other.centre.name, other.pinned, other.conflicts) == ("Lyon", False, ())
    assert (other.adds_platforms, other.adds_country) == (("tcr", "msc"), "FR")
    # A pin meeting everything has no conflict; the rest fill around it.
    pinned_lyon = plan(centres, PlanRequest(size=2, pins=(4,), required=("biocluster",)))
    assert names(pinned_lyon)[0] == "Lyon"
    assert pinned_lyon.picks[0].conflicts[0].detail == "biocluster"


def test_a_pinned_institution_without_an_active_entry_is_kept_and_reported(ctx) -> None:
    centres = [centre(1, "Ended", platforms=["msc"], active=False), centre(2, "Berlin")]
    proposal = plan(centres, PlanRequest(size=2, pins=(1,)))
    assert names(proposal) == ["Ended", "Berlin"]
    assert [planner.conflict_text(c) for c in proposal.picks[0].conflicts] == [
        "has no active entry"
    ]


def test_fewer_candidates_than_the_size_give_fewer_picks_and_say_so(ctx) -> None:
    centres = [
        centre(1, "Berlin", platforms=["car_t"]),
        centre(2, "Vienna", "AT", platforms=["msc"]),
        centre(3, "Zurich", "CH", platforms=["tcr"]),
        centre(4, "Retired", platforms=["tcr"], active=False),
    ]
    proposal = plan(centres, PlanRequest(size=10))
    assert names(proposal) == ["Berlin", "Vienna"]
    assert proposal.short and proposal.candidates == 2
    assert not plan(centres, PlanRequest(size=2)).short


def test_excluded_institutions_never_appear(ctx) -> None:
    centres = [
        centre(1, "Everything", platforms=["car_t", "tcr", "msc"], types=["gene_therapy"]),
        centre(2, "Some", platforms=["car_t"]),
    ]
    proposal = plan(centres, PlanRequest(size=2, excluded=frozenset({1})))
    assert names(proposal) == ["Some"]
    assert proposal.uncovered_platforms == ()
    assert "tcr" in proposal.unreachable_platforms


def test_institutions_outside_the_eu_are_candidates_only_when_their_country_is_chosen(ctx):
    centres = [
        centre(1, "Zurich", "CH", platforms=["car_t", "tcr"]),
        centre(2, "London", "GB", platforms=["msc"]),
        centre(3, "Nowhere", None, platforms=["gene_editing"]),
        centre(4, "Berlin", "DE", platforms=["car_t"]),
    ]
    assert names(plan(centres, PlanRequest(size=4))) == ["Berlin"]
    with_switzerland = PlanRequest(size=4, countries=planner.parse_countries("EU, CH"))
    assert names(plan(centres, with_switzerland)) == ["Zurich", "Berlin"]
    only_uk = PlanRequest(size=4, countries=planner.parse_countries("gb"))
    assert names(plan(centres, only_uk)) == ["London"]
    everywhere = plan(centres, PlanRequest(size=4, countries=planner.parse_countries("all")))
    assert sorted(names(everywhere)) == ["Berlin", "London", "Nowhere", "Zurich"]


def test_what_stays_uncovered_and_what_no_candidate_covers(ctx) -> None:
    centres = [
        centre(1, "Cells", platforms=["car_t", "tcr", "other"], types=["somatic_cell_therapy"]),
        centre(2, "Genes", platforms=["in_vivo_aav"], types=["gene_therapy"]),
    ]
    proposal = plan(centres, PlanRequest(size=1))
    assert names(proposal) == ["Cells"]
    assert proposal.platforms == ("car_t", "tcr")  # "other" names no platform
    assert proposal.uncovered_platforms == ("in_vivo_aav",)
    assert proposal.uncovered_atmp_types == ("gene_therapy",)
    assert proposal.unreachable_atmp_types == ("tissue_engineered", "combined")
    assert "msc" in proposal.unreachable_platforms and "other" not in proposal.unreachable_platforms


def test_a_pick_filling_the_network_says_it_adds_nothing_new(ctx) -> None:
    centres = [
        centre(1, "Everything", platforms=["car_t", "msc"], types=["gene_therapy"]),
        centre(2, "Part", platforms=["car_t"]),
    ]
    proposal = plan(centres, PlanRequest(size=2))
    assert names(proposal) == ["Everything", "Part"]
    assert proposal.picks[1].adds_nothing
    assert planner.adds_text(proposal.picks[1]) == "nothing new"


def test_many_candidates_are_planned_greedily_and_the_pins_stay(ctx) -> None:
    platforms = planner.platform_codes()
    types = [t.value for t in AtmpType]
    centres = [
        centre(
            i,
            f"Centre {i:02}",
            ["DE", "FR", "IT", "ES", "PL", "NL"][i % 6],
            platforms=[platforms[i % len(platforms)], platforms[(i * 7) % len(platforms)]],
            types=[types[i % len(types)]],
        )
        for i in range(1, 41)
    ]
    proposal = plan(centres, PlanRequest(size=10, pins=(40, 39)))
    assert proposal.method == "greedy"
    assert [p.centre.id for p in proposal.picks[:2]] == [40, 39]
    assert len(proposal.picks) == 10
    assert proposal.platforms == tuple(platforms) and len(proposal.atmp_types) == len(types)
    assert len(proposal.countries) == 6


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (PlanRequest(pins=(1,), excluded=frozenset({1})), "both pinned and excluded"),
        (PlanRequest(pins=(99,)), "No institution has number 99"),
        (PlanRequest(size=1, pins=(1, 2)), "2 pins do not fit in a network of 1"),
        (PlanRequest(size=0), "at least one centre"),
        (PlanRequest(required=("fame",)), "Unknown criterion fame"),
    ],
)
def test_options_that_cannot_make_a_plan_are_refused(ctx, request_, message) -> None:
    centres = [centre(1, "One"), centre(2, "Two")]
    with pytest.raises(PlanError, match=message):
        plan(centres, request_)


def test_options_are_read_from_text(ctx) -> None:
    assert planner.parse_countries(None) == planner.EU_MEMBER_STATES
    assert len(planner.EU_MEMBER_STATES) == 27 and "GB" not in planner.EU_MEMBER_STATES
    assert planner.parse_countries("at, de") == {"AT", "DE"}
    assert planner.parse_countries("EU,NO") == planner.EU_MEMBER_STATES | {"NO"}
    assert planner.parse_countries("all") is None
    with pytest.raises(PlanError, match="XX is not an ISO 3166-1 country code"):
        planner.parse_countries("DE,XX")
    assert planner.parse_required(["trials,gmp", "gmp"]) == ("gmp", "trials")
    with pytest.raises(PlanError, match="Unknown criterion fame"):
        planner.parse_required(["gmp,fame"])
    assert planner.parse_ids(["3, 1", "3 7"]) == (3, 1, 7)
    with pytest.raises(PlanError, match="x is not an institution number"):
        planner.parse_ids(["1,x"])


# The registry as the planner reads it, the command, the CSV and the page.


def _institution(name: str, country: str, answers: dict, *entries: list[AtmpType]) -> int:
    institution = Institution(name=name, country_code=country, texts={}, answers=answers)
    db.session.add(institution)
    for types in entries:
        entry = Entry(institution=institution, texts={})
        entry.atmp_types = types
        db.session.add(entry)
    db.session.flush()
    return institution.id


@pytest.fixture
def registry(ctx) -> dict[str, int]:
    """Five institutions whose best pair under "gmp" is known: Würzburg and Leiden cover
    six things in two countries; Milan (no GMP) covers more but fails the requirement;
    Zurich lies outside the EU; Oslo's only entry is retired."""
    no_gmp = {**ALL_MET_ANSWERS, "gmp_manufacturing": "planned"}
    ids = {
        "Würzburg": _institution(
            "TLC-RT Würzburg",
            "DE",
            {**ALL_MET_ANSWERS, "technology_platforms": ["tissue_engineered", "msc"]},
            [AtmpType.TISSUE_ENGINEERED],
            [AtmpType.SOMATIC_CELL_THERAPY],
        ),
        "Leiden": _institution(
            "LUMC Leiden",
            "NL",
            {**ALL_MET_ANSWERS, "technology_platforms": ["car_t", "in_vivo_aav"]},
            [AtmpType.GENE_THERAPY],
        ),
        "Heidelberg": _institution(
            "Heidelberg Cell Centre",
            "DE",
            {**ALL_MET_ANSWERS, "technology_platforms": ["car_t"]},
            [AtmpType.SOMATIC_CELL_THERAPY],
        ),
        "Milan": _institution(
            "Milan Gene Institute",
            "IT",
            {**no_gmp, "technology_platforms": ["hsc_gene_therapy", "gene_editing", "car_t"]},
            [AtmpType.GENE_THERAPY, AtmpType.COMBINED],
        ),
        "Zurich": _institution(
            "Zurich Cell Factory",
            "CH",
            {**ALL_MET_ANSWERS, "technology_platforms": ["oncolytic_virus", "tcr", "psc_derived"]},
            [AtmpType.GENE_THERAPY],
        ),
        "Oslo": _institution(
            "Oslo Retired Programme",
            "NO",
            {**ALL_MET_ANSWERS, "technology_platforms": ["tcr"]},
            [AtmpType.COMBINED],
        ),
    }
    oslo = db.session.get(Institution, ids["Oslo"])
    oslo.entries[0].status = EntryStatus.RETIRED
    oslo.entries[0].retired_reason = "Programme ended"
    db.session.commit()
    return ids


def test_the_registry_gives_platforms_answered_and_types_of_active_entries(registry) -> None:
    centres = {c.id: c for c in planner.centres_from_registry()}
    wuerzburg = centres[registry["Würzburg"]]
    assert wuerzburg.platforms == {"tissue_engineered", "msc"}
    assert wuerzburg.atmp_types == {"tissue_engineered", "somatic_cell_therapy"}
    assert wuerzburg.met == ALL and wuerzburg.country == "DE"
    assert "gmp" not in centres[registry["Milan"]].met
    assert not centres[registry["Oslo"]].active
    assert centres[registry["Oslo"]].atmp_types == frozenset()


def test_the_best_pair_of_a_hand_built_registry(registry) -> None:
    proposal = planner.plan_registry(PlanRequest(size=2, required=("gmp",)))
    assert names(proposal) == ["TLC-RT Würzburg", "LUMC Leiden"]
    assert proposal.uncovered_platforms == ()  # Heidelberg adds nothing beyond them
    assert "hsc_gene_therapy" in proposal.unreachable_platforms  # only Milan, without GMP
    assert proposal.unreachable_atmp_types == ("combined",)


def test_the_command_prints_the_proposal_and_writes_it_as_csv(app, registry, tmp_path) -> None:
    path = tmp_path / "proposal.csv"
    result = app.test_cli_runner().invoke(
        args=[
            "network", "plan", "--size", "3", "--require", "gmp", "--pin", str(registry["Milan"]),
            "--exclude", str(registry["Heidelberg"]), "--csv", str(path),
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "Proposal: 3 of at most 3 centres (2 candidates besides the pins; every possible "
        "selection tried)."
    )
    assert lines[1].startswith(" 1. Milan Gene Institute (#") and "pinned" in lines[1]
    assert lines[2] == (
        "    adds: platforms: CAR-T and other engineered immune cells, Haematopoietic stem "
        "cell gene therapy, Gene editing; ATMP types: Gene therapy, Combined ATMP; "
        "country: Italy"
    )
    assert "    conflict: does not meet “GMP manufacturing”" in lines
    assert "Heidelberg" not in result.output
    assert "Zurich" not in result.output
    assert f"Proposal written to {path}." in lines

    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["Institution"] for r in rows] == [
        "Milan Gene Institute",
        "TLC-RT Würzburg",
        "LUMC Leiden",
    ]
    assert rows[0]["Pinned"] == "yes" and rows[1]["Pinned"] == "no"
    assert rows[0]["Conflicts"] == "does not meet “GMP manufacturing”"
    assert rows[1]["Adds"] == (
        "platforms: Mesenchymal stromal cells, Tissue-engineered constructs; ATMP types: "
        "Somatic cell therapy, Tissue-engineered product; country: Germany"
    )
    assert rows[2]["Technology platforms"] == "car_t; in_vivo_aav"


def test_the_command_says_when_there_are_fewer_candidates(app, registry) -> None:
    result = app.test_cli_runner().invoke(args=["network", "plan", "--countries", "EU,CH"])
    assert result.exit_code == 0, result.output
    assert "Only 5 centres could be proposed: fewer candidates than 10." in result.output
    assert "Zurich Cell Factory" in result.output
    assert "Oslo" not in result.output


def test_the_command_refuses_options_that_cannot_make_a_plan(app, registry) -> None:
    runner = app.test_cli_runner()
    leiden = str(registry["Leiden"])
    result = runner.invoke(args=["network", "plan", "--pin", leiden, "--exclude", leiden])
    assert result.exit_code == 2 and "both pinned and excluded" in result.output
    result = runner.invoke(args=["network", "plan", "--require", "gmp,fame"])
    assert result.exit_code == 2 and "Unknown criterion fame" in result.output


@pytest.fixture
def coordinator(make_user, auth) -> str:
    email = make_user("coordinator@example.org", Role.COORDINATOR)
    assert auth.login(email).status_code == 302
    return email


def test_the_page_plans_with_the_same_options_and_downloads_the_csv(
    registry, coordinator, client
) -> None:
    query = f"?size=2&require=gmp&countries=EU&pin={registry['Zurich']}&exclude="
    page = client.get("/staff/network/planner/" + query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Zurich Cell Factory") < html.index("TLC-RT Würzburg")
    assert "pinned" in html
    assert "lies outside the chosen countries (Switzerland)" in html
    assert "LUMC Leiden" not in html.split("What the proposal covers")[0]
    assert 'aria-label="Proposed centres"' in html
    download = client.get("/staff/network/planner/proposal.csv" + query)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [r["Institution"] for r in rows] == ["Zurich Cell Factory", "TLC-RT Würzburg"]
    assert "/staff/network/planner/proposal.csv?size=2" in html.replace("&amp;", "&")


def test_the_page_proposes_with_the_defaults_and_says_when_candidates_run_short(
    registry, coordinator, client
) -> None:
    html = client.get("/staff/network/planner/").get_data(as_text=True)
    assert "There were fewer candidates than 10 centres: the proposal has only 4." in html
    assert "Milan Gene Institute" in html and "Zurich Cell Factory" not in html


def test_the_page_names_options_that_cannot_make_a_plan(registry, coordinator, client) -> None:
    leiden = registry["Leiden"]
    html = client.get(f"/staff/network/planner/?size=3&pin={leiden}&exclude={leiden}").get_data(
        as_text=True
    )
    assert "No proposal could be made" in html and "both pinned and excluded" in html
    bad = client.get("/staff/network/planner/?size=0&countries=EU")
    assert "No proposal could be made" in bad.get_data(as_text=True)
    assert client.get("/staff/network/planner/proposal.csv?countries=XX").status_code == 400


def test_curators_may_not_plan(registry, make_user, auth, client) -> None:
    auth.login(make_user("curator@example.org", Role.CURATOR))
    assert client.get("/staff/network/planner/").status_code == 403
