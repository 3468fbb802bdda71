"""Structured JSON logs that carry the correlation id and never personal data."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Long digit runs look like phone numbers, ID-card numbers or bank accounts: whatever
# a message interpolates, they never reach a log line.
_DIGIT_RUN = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
_LONG_DIGITS = re.compile(r"(?<![0-9A-Za-z])[0-9]{15,18}[0-9Xx]?(?![0-9])")


def scrub(text: str) -> str:
    """Replace phone-like and ID-like digit runs in free text."""
    return _LONG_DIGITS.sub("[redacted]", _DIGIT_RUN.sub("[phone]", text))


def _add_correlation_id(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    cid = correlation_id.get()
    if cid is not None and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = cid
    return event_dict


def _scrub_values(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and key != "correlation_id":
            event_dict[key] = scrub(value)
    return event_dict


# FastStream warns, when each subscriber starts, that it creates no topics. Ours are created
# with their partition counts before any subscriber starts (messaging/watch.BrokerWatch), so
# the line is always a false alarm, one per subscriber and restart: warnings that are never
# true teach operators to ignore the ones that are.
KNOWN_NOISE: frozenset[str] = frozenset({
    "Auto create topics is disabled. Make sure the topics exist.",
})


def _drop_known_noise(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if event_dict.get("event") in KNOWN_NOISE:
        raise structlog.DropEvent
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout; the standard library's loggers go through the same pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation_id,
        structlog.processors.format_exc_info,
        _scrub_values,
    ]
    structlog.configure(
        # (FastStream logs through this logger: see make_broker)
        processors=[_drop_known_noise, *shared, structlog.processors.EventRenamer("message"),
                    structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.EventRenamer("message"),
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Access logs carry query strings (Open311 filters may hold addresses): keep them off.
    logging.getLogger("uvicorn.access").disabled = True


@contextmanager
def correlated(cid: str | None) -> Iterator[None]:
    token = correlation_id.set(cid)
    try:
        yield
    finally:
        correlation_id.reset(token)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
