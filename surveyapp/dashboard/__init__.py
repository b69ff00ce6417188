"""Dashboards: campaign response rates, registry coverage and completeness, statistics."""
