"""Questionnaire definitions: the foundation every other area reads.

The questionnaire, the registry, the review, the API, the exports and the statistics all
take their fields from here; this package imports none of them (only the vocabularies and
paths below it).
"""

from surveyapp.definitions.diff import DefinitionDiff, diff
from surveyapp.definitions.loader import (
    TABLE1,
    DefinitionError,
    available,
    check_file,
    definition_path,
    extract_labels,
    load_definition,
    parse_definition,
    registry_fields,
    split_name,
    table1,
    use_directories,
)
from surveyapp.definitions.model import (
    FIELD_TYPES,
    Condition,
    Definition,
    FieldDefinition,
    Level,
    Section,
)
from surveyapp.definitions.models import VocabularyVersion
from surveyapp.definitions.vocabularies import CODE_VOCABULARIES as VOCABULARIES

__all__ = [
    "FIELD_TYPES",
    "TABLE1",
    "VOCABULARIES",
    "Condition",
    "Definition",
    "DefinitionDiff",
    "DefinitionError",
    "FieldDefinition",
    "Level",
    "Section",
    "VocabularyVersion",
    "available",
    "check_file",
    "definition_path",
    "diff",
    "extract_labels",
    "load_definition",
    "parse_definition",
    "registry_fields",
    "split_name",
    "table1",
    "use_directories",
]
