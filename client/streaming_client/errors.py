"""Typed failures of a streaming call, one class per failure class with its exit code."""

from __future__ import annotations


class SmokeTestError(Exception):
    """Base class: `str()` is one readable line; `exit_code` is distinct per class.

    `partial` holds what a failed stream delivered before it failed (a `StreamResult`), if any.
    """

    exit_code = 1

    def __init__(self, message: str, partial: object | None = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.reported = False  # a CLI sets it once it has reported the failure


class UsageError(SmokeTestError):
    """Bad arguments or missing local setup (credentials, region)."""

    exit_code = 2


class EndpointNotFound(SmokeTestError):
    """No such endpoint, stack, or stack output."""

    exit_code = 3


class EndpointNotInService(SmokeTestError):
    """The endpoint exists but is not InService (Creating, Updating, Failed, ...)."""

    exit_code = 4


class ComponentHasNoCopy(EndpointNotInService):
    """The inference component runs no copy (scaled to zero): the runtime refused the request for
    lack of capacity, which is what starts the component's scale-out from zero (same exit code)."""


class RequestRejected(SmokeTestError):
    """The runtime or the model refused the request (validation, model error, access denied)."""

    exit_code = 5


class Throttled(SmokeTestError):
    """Still throttled or unavailable after the bounded retries."""

    exit_code = 6


class StreamFailed(SmokeTestError):
    """The stream started and then failed (exception event, in-band error, broken connection), or carried no text."""

    exit_code = 7


class ConnectionFailed(SmokeTestError):
    """The endpoint could not be reached, or nothing arrived before the read timeout."""

    exit_code = 8


class Interrupted(SmokeTestError):
    """The user pressed Ctrl-C (SIGINT): 128 + 2, as a shell reports it."""

    exit_code = 130


EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (UsageError, EndpointNotFound, EndpointNotInService, RequestRejected, Throttled, StreamFailed, ConnectionFailed, Interrupted)
}
