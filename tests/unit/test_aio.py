"""wait_at_most: a loop around it ends when its task is cancelled, also when the event
is set in the same turn of the event loop (where Python 3.11's wait_for loses the
cancellation, CPython gh-86296)."""

from __future__ import annotations

import asyncio

from civicgrid_shared.aio import wait_at_most


async def _loop(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        await wait_at_most(event, 10)
        event.clear()
        rounds.append(1)


async def test_a_cancel_that_meets_the_wake_up_ends_the_loop() -> None:
    event, rounds = asyncio.Event(), []
    task = asyncio.create_task(_loop(event, rounds))
    await asyncio.sleep(0)  # the loop waits
    event.set()
    task.cancel()  # in the same turn: the wake-up and the cancel race
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done and task.cancelled()


async def test_it_returns_when_set_and_after_the_time_limit() -> None:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait_at_most(event, 0.05)  # nobody sets it: the time limit
    assert loop.time() - started >= 0.05
    loop.call_soon(event.set)
    await wait_at_most(event, 10)  # set: returns at once
    assert loop.time() - started < 5
