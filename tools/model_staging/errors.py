"""Typed failures of staging, each with the exit code llm-stage-model uses."""

from __future__ import annotations


class StagingError(Exception):
    exit_code = 1


class SourceError(StagingError):
    """The weights cannot be had: gated model without a token, unknown repo or revision, offline."""

    exit_code = 3


class DestinationError(StagingError):
    """The bucket is missing or not accessible."""

    exit_code = 4


class DiskFull(StagingError):
    exit_code = 5


class CheckFailed(StagingError):
    """The staged prefix does not match its manifest (missing, incomplete or corrupted)."""

    exit_code = 6
