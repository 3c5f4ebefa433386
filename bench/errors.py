"""Errors a user can cause. The CLI prints ``str(err)`` on one line and exits 2."""

from __future__ import annotations


class BenchError(Exception):
    """Base class of every user-caused error (bad config, bad data, unknown name)."""

    exit_code = 2

    def __str__(self) -> str:  # one line, always
        return " ".join(super().__str__().split())


class ConfigError(BenchError):
    """A task, matrix or CLI value is invalid."""


class DataError(BenchError):
    """The data behind a task is unusable (missing column, empty split, bad label...)."""


class UnknownNameError(BenchError):
    """A registry lookup failed."""


class SchemaError(BenchError):
    """A record or baseline has an unsupported schema version."""


class OutputError(BenchError):
    """The output location cannot be written."""
