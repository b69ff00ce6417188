"""Keep invitation tokens out of logs.

An invitation link is a capability: whoever has it can answer for an institution. Access
logs (the development server's, gunicorn's when switched on) print request paths, so every
log record passing through the application's loggers has tokens in ``/i/<token>`` paths
replaced before it is written.
"""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"/i/[A-Za-z0-9_-]{16,}")
REDACTED = "/i/[token]"
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "surveyapp", "flask.app")


def redact(text: str) -> str:
    """The text with every invitation token in a link path replaced."""
    return TOKEN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """A logging filter that rewrites a record's message without its tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message in place; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Attach the filter to the loggers that print request paths (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
