"""The error hierarchy. Messages say what happened and how to fix it."""

from __future__ import annotations


class WhoknowsError(Exception):
    """Base of every error whoknows raises on purpose."""


class ConfigError(WhoknowsError):
    """A setting is missing or invalid."""


class BackendUnavailable(WhoknowsError):
    """An optional backend is not installed or cannot be reached."""


class EmbeddingMismatch(WhoknowsError):
    """The store was built with another embedding model than the one configured."""


class StoreError(WhoknowsError):
    """The store directory is missing, corrupt or unreadable."""


class NotFound(WhoknowsError):
    """A document, question or other object does not exist."""


class BadInput(WhoknowsError):
    """A request or file is malformed; ``field`` names the offending part."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ParseError(WhoknowsError):
    """A source file could not be read into documents."""
