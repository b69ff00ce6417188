"""Curator review: the queue of submissions, the comparison with the registry, decisions."""
