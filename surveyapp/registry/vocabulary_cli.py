"""``flask vocabulary ...``: record new versions of the vocabularies that follow the world
(the EU-authorised ATMPs)."""

from __future__ import annotations

from flask.cli import AppGroup

vocabulary_cli = AppGroup("vocabulary", help="Update the vocabularies kept as data.")
