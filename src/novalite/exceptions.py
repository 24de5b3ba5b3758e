"""Errors that cross service boundaries.

A handler that raises a RemotableError on the far side of the bus makes the same
class raise at the caller, so `call()` behaves like a local call.
"""

from __future__ import annotations

from typing import ClassVar

_REMOTABLE: dict[str, type["RemotableError"]] = {}


class NovaliteError(Exception):
    """Base class for novalite's own errors."""


class RemotableError(NovaliteError):
    code: ClassVar[int] = 500

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        _REMOTABLE[cls.__name__] = cls


def remotable_error(name: str) -> type[RemotableError] | None:
    return _REMOTABLE.get(name)


class NoValidHost(RemotableError):
    code = 400


class NotFound(RemotableError):
    code = 404


class InstanceNotFound(NotFound):
    pass


class Conflict(RemotableError):
    code = 409


class BuildAbortedError(RemotableError):
    """The instance went away (deleted) while it was being built."""


class RescheduledError(RemotableError):
    """A spawn failed on one host and the build should try another."""


class RemoteError(NovaliteError):
    """A handler raised something that is not remotable; carries its type name and text."""

    def __init__(self, exc_type: str, message: str):
        self.exc_type = exc_type
        self.message = message
        super().__init__(f"{exc_type}: {message}")


class MessagingTimeout(NovaliteError):
    def __init__(self, topic: str, method: str, timeout: float):
        self.topic, self.method, self.timeout = topic, method, timeout
        super().__init__(
            f"timed out after {timeout:g}s waiting for a reply to '{method}' on topic '{topic}'"
            " (is a service consuming that topic running?)"
        )


class MessageDeliveryFailure(NovaliteError):
    """The transport did not accept a message (e.g. the broker refused a cast)."""
