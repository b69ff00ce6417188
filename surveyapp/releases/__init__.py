"""Releases: numbered, immutable, citable copies of the public registry.

A live API changes under its reader, so people who cite the registry cite a release: its
files (CSV, XLSX, JSON, a Frictionless Data Package, a changelog since the release before,
CITATION.cff) are written once, hashed, and never changed or deleted.
"""
