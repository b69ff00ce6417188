"""Reading printed text into controlled values, and rendering it back."""

from __future__ import annotations

import csv

import pytest

from surveyapp.definitions import table1
from surveyapp.registry.importer import TABLE1_CSV
from surveyapp.registry.values import (
    disease_areas,
    names_only_atmp_types,
    read,
    render,
    split_terms,
    website_domain,
    website_link,
    website_problem,
)
from surveyapp.vocabulary import DiseaseArea


def field(key: str):
    return table1().field(key)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("114", {"estimate": 114, "qualifier": "exact"}),
        ("0", {"estimate": 0, "qualifier": "exact"}),
        ("1,200", {"estimate": 1200, "qualifier": "exact"}),
        ("at least 100", {"estimate": 100, "qualifier": "at_least"}),
        (">50", {"estimate": 50, "qualifier": "at_least"}),
        ("100+", {"estimate": 100, "qualifier": "at_least"}),
        ("~40", {"estimate": 40, "qualifier": "approximate"}),
        ("approximately 40", {"estimate": 40, "qualifier": "approximate"}),
        ("unknown", {"estimate": None, "qualifier": "unknown"}),
        ("", {"estimate": None, "qualifier": None}),
    ],
)
def test_patient_counts_are_read_with_their_qualifier(text, value):
    reading = read(field("patients_treated"), text)
    assert reading.value == value
    assert reading.problem is None


@pytest.mark.parametrize(
    "text",
    ["100s", "Currently GMP R&D", "dozens with polyclonal Tregs", "15000 of related units, 600"],
)
def test_unreadable_patient_counts_are_flagged_not_guessed(text):
    reading = read(field("patients_treated"), text)
    assert reading.value == {"estimate": None, "qualifier": None}
    assert text in reading.problem


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("USA", "US"),
        ("Czech Republic", "CZ"),
        ("United Kingdom", "GB"),
        ("Netherlands", "NL"),
        ("de", "DE"),
        ("UK", "GB"),
    ],
)
def test_countries_are_read_to_iso_codes(text, code):
    assert read(field("country"), text).value == code


def test_a_cut_country_is_flagged():
    reading = read(field("country"), "Republic of")
    assert reading.value is None
    assert "Republic of" in reading.problem


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Yes", "yes"),
        ("no", "no"),
        ("Possible", "possible"),
        ("Planned", "planned"),
        ("Clinical trials", "clinical_trials_only"),
        ("No (but approved for clinical trial)", "clinical_trials_only"),
        ("Clinical trials only", "clinical_trials_only"),
        ("Unknown", "unknown"),
        ("", None),
    ],
)
def test_answers_are_read_to_the_answer_vocabulary(text, value):
    reading = read(field("contract_research"), text)
    assert (reading.value, reading.problem) == (value, None)


@pytest.mark.parametrize(
    ("text", "types", "other"),
    [
        ("Somatic cell therapy", ["somatic_cell_therapy"], None),
        (
            "Cell (EV) therapy, gene (miRNA) therapy/diagnostics, tissue enginering",
            ["gene_therapy", "somatic_cell_therapy", "tissue_engineered"],
            None,
        ),
        (
            "Somatic cell therapy, tissue engineering or combined",
            ["somatic_cell_therapy", "tissue_engineered", "combined"],
            None,
        ),
        ("Cell nad Gene Therapy", ["gene_therapy", "somatic_cell_therapy"], None),
        ("Tissue engineering, biomarkers", ["tissue_engineered"], "biomarkers"),
        ("Cell therapy (CAR-T)", ["somatic_cell_therapy"], None),
    ],
)
def test_atmp_types_are_recognised_and_the_rest_kept_as_other_activities(text, types, other):
    reading = read(field("atmp_type"), text)
    assert reading.value == {"types": types, "other": other}
    assert reading.problem is None


def test_text_naming_no_atmp_type_is_flagged_and_kept_as_other():
    reading = read(field("atmp_type"), "Omics, bioinformatics")
    assert reading.value == {"types": [], "other": "Omics; bioinformatics"}
    assert "no ATMP type" in reading.problem


def test_a_dash_contact_means_none_and_is_flagged():
    reading = read(field("contact_person"), "-")
    assert reading.value is None
    assert reading.problem == "contact person given as '-'"


@pytest.mark.parametrize("text", ["https://www.regenerative-", "http://en.vhir.org/a.asp?"])
def test_cut_off_websites_are_kept_and_flagged(text):
    reading = read(field("website"), text)
    assert reading.value == text
    assert "cut off" in reading.problem


# Values that would be links running a script, or leaving for an unnamed place.
NOT_WEBSITES = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "jav a\r\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "\u200bjavascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example",
    "\\\\evil.example",
    "ftp://files.example.org",
    "http:evil.example",
    "https://",
    "https://javascript:alert(1)",
    "example.org:alert(1)",
    "localhost",
    "not a website",
]
WEBSITES = [
    ("https://x.org", "https://x.org"),
    ("HTTP://X.ORG/path?a=1#top", "HTTP://X.ORG/path?a=1#top"),
    ("www.x.org", "https://www.x.org"),
    ("example.org/path", "https://example.org/path"),
    ("example.org:8443/path", "https://example.org:8443/path"),
    ("Pluristem.com", "https://Pluristem.com"),
    ("universität-beispiel.de", "https://universität-beispiel.de"),
]


@pytest.mark.parametrize("text", NOT_WEBSITES)
def test_only_http_addresses_and_host_names_are_websites(text):
    assert website_problem(text) is not None
    assert website_link(text) is None
    reading = read(field("website"), text)
    assert reading.value is None
    assert repr(text.strip()) in reading.problem


@pytest.mark.parametrize(("text", "link"), WEBSITES)
def test_websites_link_as_https_unless_they_say_http(text, link):
    assert website_problem(text) is None
    assert website_link(text) == link
    assert read(field("website"), text).value == text


def test_the_problem_says_what_is_wrong():
    assert "starts with 'JaVaScRiPt:'" in website_problem("JaVaScRiPt:alert(1)")
    assert "contains spaces or control characters" in website_problem("java\tscript:x")
    assert "names no host after https://" in website_problem("https://")
    assert "www.example.org" in website_problem("//evil.example")


def test_every_website_table1_prints_is_one():
    with TABLE1_CSV.open(encoding="utf-8") as handle:
        printed = [row["website"] for row in csv.DictReader(handle) if row["website"]]
    assert len(printed) > 50
    assert [w for w in printed if website_problem(w)] == []


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("www.ior.it", "ior.it"),
        ("http://www.ior.it/ricerca", "ior.it"),
        ("Pluristem.com", "pluristem.com"),
        ("", None),
    ],
)
def test_website_domains(url, domain):
    assert website_domain(url) == domain


def test_term_lists_split_outside_parentheses():
    assert split_terms("Degenerative (osteoarthritis; arthritis), bone; skin,") == [
        "Degenerative (osteoarthritis; arthritis)",
        "bone",
        "skin",
    ]


def test_a_bare_answer_in_a_disease_list_is_flagged():
    reading = read(field("diseases_pipeline"), "Planned")
    assert reading.value == []
    assert "answer" in reading.problem


def test_disease_areas_are_derived_from_terms():
    assert disease_areas(["Melanoma", "GvHD", "Unheard-of syndrome"]) == [
        DiseaseArea.ONCOLOGY,
        DiseaseArea.TRANSPLANTATION_GVHD,
        DiseaseArea.OTHER,
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("country", "DE"),
        ("atmp_type", {"types": ["gene_therapy", "combined"], "other": "Omics; imaging"}),
        ("patients_treated", {"estimate": 100, "qualifier": "at_least"}),
        ("patients_treated", {"estimate": 12, "qualifier": "approximate"}),
        ("patients_treated", {"estimate": 7, "qualifier": "exact"}),
        ("patients_treated", {"estimate": None, "qualifier": "unknown"}),
        ("diseases_targeted", ["Melanoma", "Degenerative (a; b)"]),
        ("contract_research", "clinical_trials_only"),
        ("website", "https://example.org/"),
    ],
)
def test_rendering_then_reading_gives_the_value_back(key, value):
    assert read(field(key), render(field(key), value)).value == value


@pytest.mark.parametrize(
    ("text", "only_types"),
    [
        ("Somatic cell therapy", True),
        ("Somatic cell therapy, tissue engineering", True),
        ("Gene and cell therapy", True),
        ("Tissue engineered product", True),
        ("Gene therapy (CAR-T)", False),  # words of its own: shown as written
        ("Cell therapy (CAR-T), gene therapy", False),
        ("Other activities: biobank", False),
        ("Biobank", False),
        ("", False),
    ],
)
def test_a_text_naming_only_atmp_types_can_be_shown_as_their_labels(text, only_types):
    assert names_only_atmp_types(text) is only_types


def test_the_directory_shows_named_values_in_the_readers_language(client, table1):
    page = client.get("/?lang=it").get_data(as_text=True)
    assert '<td data-label="Paese">Cechia</td>' in page  # pycountry's Italian name
    assert '<td data-label="Tipo di ATMP">Terapia cellulare somatica</td>' in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<td data-label="Country">Czech Republic</td>' in english  # as Table 1 printed
