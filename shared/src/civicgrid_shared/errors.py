"""Error classes whose messages are safe to show (no personal data), and transient faults."""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError


class SafeError(Exception):
    """A domain or validation error whose message names fields and rules, never values."""


class Rejected(SafeError):
    """The message is wrong for good (unknown case, not the sender's case, illegal move):
    retrying cannot help, so a consumer dead-letters it at once."""


# SQLSTATE classes that say "try again later", not "this message is bad":
# 08 connection, 53 resources, 57 operator intervention (shutdown), 40 rollbacks.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57", "40")


def is_transient(exc: BaseException) -> bool:
    """True for faults of the infrastructure (database, broker, network), not of the input.

    The cause chain counts: drivers wrap a lost connection in their own errors (asyncpg's
    InternalClientError caused by AdminShutdownError when the server goes away).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _transient_itself(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _transient_itself(exc: BaseException) -> bool:
    # InternalClientError is the driver's own state breaking, e.g. "another operation is
    # in progress" when a pool resets a connection the server just dropped: a fresh
    # connection is the cure, so the caller should try again.
    if isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError,
                        asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError,
                        KafkaConnectionError, KafkaTimeoutError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    return False


def safe_reason(exc: BaseException) -> str:
    """What may be said about an exception in a header or a log line."""
    if isinstance(exc, SafeError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
