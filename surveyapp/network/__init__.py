"""The European network of ATMP Centres of Excellence (HORIZON-HLTH-2026-01-TOOL-07): how
far each institution meets the topic's criteria (readiness), and a planner proposing at
most ten centres that together cover the most technologies, ATMP types and countries.

It reads the registry's capacity profile (``forms/table1-v2.toml``) and stands above the
dashboards; nothing below imports it.
"""
