"""Questionnaire definitions are data: every file is checked, every problem named, versions
compared, and vocabularies may be data too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from surveyapp.definitions import check_file, diff
from surveyapp.definitions.vocabularies import VocabularyError, load_vocabulary, parse_vocabulary
from surveyapp.paths import FORMS_DIR

HERE = Path(__file__).parent / "forms"


@pytest.mark.parametrize("path", sorted(FORMS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_definition_is_well_formed(path):
    definition = check_file(path)
    assert definition.name == path.stem


def test_the_test_pair_has_one_field_of_every_generic_type():
    first = check_file(HERE / "everything-v1.toml")
    assert {f.type for f in first.fields} >= {
        "integer",
        "decimal",
        "date",
        "yes_no_unknown",
        "choice",
        "multi_choice",
        "text_list",
        "long_text",
    }
    conditional = first.field("lots_per_year")
    assert conditional.show_if.field == "gmp" and conditional.show_if.values == ("yes",)
    assert (conditional.min, conditional.max, conditional.unit) == (0, 10000, "batches")


def test_a_data_vocabulary_has_codes_labels_translations_and_extra_columns():
    platforms = load_vocabulary("platforms-v1", HERE / "vocabularies")
    assert platforms.choices()[0] == ("car_t", "CAR-T and other engineered immune cells")
    assert platforms.choices("de")[0][1] == "CAR-T und andere veränderte Immunzellen"
    assert platforms.choices("it")[1] == ("aav", "In vivo AAV")
    assert platforms.terms[0].extra == {"family": "cell"}


def test_a_broken_vocabulary_names_each_problem():
    text = 'id = "v"\nversion = 1\n[[terms]]\ncode = "a"\nlabel = "A"\n[[terms]]\ncode = "a"\n'
    with pytest.raises(VocabularyError) as raised:
        parse_vocabulary(text, "v-v1.toml")
    assert "term 2: needs a code and a label" in str(raised.value)


def test_diff_names_fields_added_removed_and_changed():
    changes = diff(check_file(HERE / "everything-v1.toml"), check_file(HERE / "everything-v2.toml"))
    assert [f.key for f in changes.added] == ["trial_units"]
    assert [f.key for f in changes.removed] == ["cleanroom_area"]
    assert [(c.key, c.changes) for c in changes.changed] == [
        ("lots_per_year", (("max", 10000, 20000),))
    ]


BROKEN = """
id = "broken"
version = 2
title = "Broken"
table1_columns = []

[[sections]]
key = "capacity"
title = "Capacity"
level = "institution"

  [[sections.fields]]
  key = "a"
  label = "A"
  type = "colour"
  in_table1 = false

  [[sections.fields]]
  key = "b"
  label = "B"
  type = "choice"
  vocabulary = "flavours-v1"
  in_table1 = false

  [[sections.fields]]
  key = "b"
  label = "B again"
  type = "text"
  in_table1 = false

  [[sections.fields]]
  key = "c"
  label = "C"
  type = "integer"
  in_table1 = false
  show_if = { field = "nowhere", in = ["yes"] }

[[sections]]
key = "programme"
title = "Programme"
level = "entry"

  [[sections.fields]]
  key = "d"
  label = "D"
  type = "long_text"
  in_table1 = false
  show_if = { field = "c", in = ["1"] }
"""


def test_check_names_every_problem_by_section_and_field_and_exits_non_zero(runner, tmp_path):
    shutil.copy(HERE / "everything-v1.toml", tmp_path / "broken-v1.toml")
    (tmp_path / "broken-v1.toml").write_text(
        (HERE / "everything-v1.toml")
        .read_text()
        .replace('"everything"', '"broken"')
        .replace('key = "name"', 'key = "c"'),
        encoding="utf-8",
    )
    (tmp_path / "broken-v2.toml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "check", str(tmp_path / "broken-v2.toml")])
    assert result.exit_code == 1
    for problem in (
        "section 'capacity', field 'a': type 'colour' must be one of",
        "section 'capacity', field 'b': unknown vocabulary 'flavours-v1'",
        "field 'b': key used more than once",
        "section 'capacity', field 'c': show_if names 'nowhere', which is no field",
        "field 'c': type changed from text in broken-v1 to integer",
        "section 'programme', field 'd': show_if names 'c', which is asked once per "
        "institution, not with this field",
    ):
        assert problem in result.output, result.output


def test_check_and_diff_on_the_command_line(runner):
    good = runner.invoke(args=["questionnaire", "check", str(FORMS_DIR / "table1-v1.toml")])
    assert good.exit_code == 0 and "table1-v1 is well formed (11 fields)" in good.output
    listed = runner.invoke(args=["questionnaire", "list"])
    assert "table1-v1: ATMP facilities (RESTORE D1.4 Table 1)" in listed.output
    same = runner.invoke(args=["questionnaire", "diff", "table1-v1", "table1-v1"])
    assert "no field differs" in same.output
    unknown = runner.invoke(args=["questionnaire", "diff", "table1-v1", "table9"])
    assert unknown.exit_code != 0 and "table9" in unknown.output
