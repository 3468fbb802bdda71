"""Errors raised by the local stack. Messages always say what to do next."""

from __future__ import annotations


class StackError(RuntimeError):
    """A component of the local stack could not be started, stopped or found."""


class PortInUseError(StackError):
    """A port the stack needs is held by another process."""


class BinaryNotFoundError(StackError):
    """A required executable (PostgreSQL, tansu) could not be located."""


class ServiceFailedError(StackError):
    """A service process exited or did not become ready; the message has its log tail."""


class Interrupted(Exception):
    """Raised by the CLI's SIGINT/SIGTERM handler to unwind and stop the stack."""
