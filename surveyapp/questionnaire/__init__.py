"""The questionnaire: declarative definitions in ``forms/`` and, later, the respondent's form."""
