"""Outgoing mail: an outbox written in the same transaction as its cause, and workers that send."""
