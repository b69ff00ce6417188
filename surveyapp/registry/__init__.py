"""The master registry of ATMP facilities: institutions, their entries, curation flags."""
