"""The services' log pipeline: JSON lines, personal data scrubbed, known false alarms
dropped."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog
from civicgrid_shared.logs import KNOWN_NOISE, configure_logging, get_logger


@pytest.fixture
def service_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    configure_logging("test-service")  # writes to ``out``
    try:
        yield out
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.handlers, root.level = handlers, level


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line]


def test_faststreams_topic_reminder_is_dropped_and_other_warnings_are_kept(
        service_logs: io.StringIO) -> None:
    faststream = get_logger("faststream")
    [reminder] = KNOWN_NOISE
    faststream.log(logging.WARNING, reminder, extra=None)
    faststream.warning("broker lost its topics: recreated them, recovering")
    lines = _lines(service_logs)
    assert [(x["level"], x["message"]) for x in lines] == [
        ("warning", "broker lost its topics: recreated them, recovering")]
    assert lines[0]["service"] == "test-service"


def test_phone_numbers_never_reach_a_line(service_logs: io.StringIO) -> None:
    get_logger("intake").info("appeal refused", reason="caller 13812345678 said so")
    [line] = _lines(service_logs)
    assert line["reason"] == "caller [phone] said so"
