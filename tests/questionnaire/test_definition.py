"""The Table 1 questionnaire definition in forms/: one place that names each field."""

from __future__ import annotations

import pytest

from surveyapp.definitions import (
    VOCABULARIES,
    DefinitionError,
    parse_definition,
    table1,
)


def test_labels_are_table1_headings_in_print_order():
    definition = table1()
    assert [definition.field(k).label for k in definition.table1_columns] == [
        "Institution",
        "Contact person",
        "Country",
        "Website",
        "Type of ATMP (gene therapy, somatic cell therapy, tissue engineering or combined ATMP)",
        "Number of patients treated",
        "Diseases targeted",
        "Other diseases in pipeline",
        "Contract research for industry",
        "Routine application of approved ATMP",
    ]


def test_the_table1_columns_are_the_seed_csv_header():
    from tests.conftest import TABLE1_CSV

    header = TABLE1_CSV.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert [*table1().table1_columns, "source_row"] == header


def test_fields_belong_to_the_institution_or_to_each_entry():
    definition = table1()
    assert [f.key for f in definition.level_fields("institution")] == [
        "institution",
        "country",
        "website",
    ]
    assert {f.key for f in definition.fields if f.personal} == {"contact_person", "contact_email"}


def test_every_named_vocabulary_exists():
    for field in table1().fields:
        if field.vocabulary:
            assert field.vocabulary in VOCABULARIES


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            'id="x"\nversion=1\ntitle="t"\n[[sections]]\nkey="s"\ntitle="S"\nlevel="room"\n',
            "level institution|entry",
        ),
        (
            'id="x"\nversion=1\ntitle="t"\n[[sections]]\nkey="s"\ntitle="S"\nlevel="entry"\n'
            '[[sections.fields]]\nkey="a"\nlabel="A"\ntype="colour"\n',
            "type .colour. must be one of",
        ),
        (
            'id="x"\nversion=1\ntitle="t"\n[[sections]]\nkey="s"\ntitle="S"\nlevel="entry"\n'
            '[[sections.fields]]\nkey="a"\nlabel="A"\ntype="text"\nwidth=3\n',
            "unknown keys",
        ),
        ("id = [", "Invalid"),
    ],
)
def test_a_malformed_definition_is_refused_with_its_place(toml, message):
    with pytest.raises(DefinitionError, match=message):
        parse_definition(toml, "broken.toml")
