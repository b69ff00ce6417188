"""History of the registry: a version per change with old and new value per field, and the
append-only audit log of actions. Every later area (review, merge, restore, audit pages)
builds on these two tables rather than keeping its own."""
