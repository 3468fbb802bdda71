"""Waiting with a time limit inside loops that must stop when cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class _Waitable(Protocol):
    async def wait(self) -> object: ...


async def wait_at_most(what: _Waitable, seconds: float) -> None:
    """Wait until ``what`` (an ``asyncio.Event`` or a held ``Condition``) is set or
    notified, or ``seconds`` pass, whichever is first.

    Not ``asyncio.wait_for``: on Python 3.11 it loses a cancellation that arrives as the
    inner wait completes (CPython gh-86296), and a loop around it then never ends. Seen
    here: a fold loop that went on after its task was cancelled, so the test awaiting it
    hung. ``asyncio.timeout`` tells its own cancellation from the caller's.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await what.wait()
