"""Group commit and the batched store, with an in-memory repository and unit of work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any, cast

import pytest
from civicgrid_intake.adapters.reference import CatalogRules, ReferenceLocator
from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.duplicates import OpenCase
from civicgrid_intake.domain.model import Appeal
from civicgrid_intake.service_layer.group_commit import GroupCommitter
from civicgrid_intake.service_layer.handlers import Pipeline
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork
from civicgrid_shared.contracts.events import Channel

GRID = "14050014050200501006"


class FakeRepo:
    def __init__(self, db: FakeDb) -> None:
        self.db = db

    async def by_external_ids(self, keys: Sequence[tuple[Channel, str]]
                              ) -> dict[tuple[Channel, str], Appeal]:
        return {k: self.db.rows[k] for k in keys if k in self.db.rows}

    async def open_cases_for(self, probes: Sequence[Any]) -> dict[int, list[OpenCase]]:
        return {}

    async def add_many(self, appeals: Sequence[Appeal]) -> set[uuid.UUID]:
        for a in appeals:
            if "poison" in a.content:
                raise ValueError("bad data")
        inserted = set()
        for a in appeals:
            key = (a.channel, a.external_id or str(a.appeal_id))
            if key not in self.db.pending:
                self.db.pending[key] = a
                inserted.add(a.appeal_id)
        return inserted


class FakeDb:
    def __init__(self) -> None:
        self.rows: dict[tuple[Channel, str], Appeal] = {}
        self.pending: dict[tuple[Channel, str], Appeal] = {}
        self.transactions = 0
        self.events: list[Any] = []
        self.down = False


class FakeUow:
    def __init__(self, db: FakeDb) -> None:
        self.db = db
        self.appeals = FakeRepo(db)
        self._events: list[Any] = []

    async def __aenter__(self) -> FakeUow:
        if self.db.down:
            raise ConnectionRefusedError("database away")
        self.db.pending = {}
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.db.pending = {}

    def emit(self, payload: Any, **_: Any) -> None:
        self._events.append(payload)

    async def commit(self) -> None:
        self.db.transactions += 1
        self.db.rows.update(self.db.pending)
        self.db.events += self._events


def _committer(db: FakeDb) -> GroupCommitter:
    pipeline = Pipeline(ReferenceLocator(), CatalogRules(), classifier=None)
    return GroupCommitter(lambda: cast(IntakeUnitOfWork, FakeUow(db)), pipeline, workers=1)


def _cmd(content: str = "路灯坏了", external_id: str | None = None) -> SubmitAppeal:
    return SubmitAppeal(channel=Channel.HOTLINE, content=content, grid_code=GRID,
                        matter_code="RD-003",
                        external_id=external_id or f"e-{uuid.uuid4().hex[:8]}")


async def test_concurrent_submissions_share_transactions_and_are_answered_after_commit(
) -> None:
    db = FakeDb()
    committer = _committer(db)
    try:
        results = await asyncio.gather(*(committer.submit(_cmd()) for _ in range(50)))
    finally:
        await committer.stop()
    assert all(r.created for r in results)
    assert len(db.rows) == 50 and len(db.events) == 50
    assert db.transactions < 50  # batched: the first alone, then the rest together
    assert {r.appeal.appeal_id for r in results} == {a.appeal_id for a in db.rows.values()}


async def test_same_submission_twice_in_one_batch_is_stored_once() -> None:
    db = FakeDb()
    committer = _committer(db)
    try:
        first, second, third = await asyncio.gather(
            committer.submit(_cmd(external_id="same")),
            committer.submit(_cmd(external_id="same")),
            committer.submit(_cmd(external_id="same")))
        again = await committer.submit(_cmd(external_id="same"))
    finally:
        await committer.stop()
    ids = {r.appeal.appeal_id for r in (first, second, third, again)}
    assert len(ids) == 1 and len(db.rows) == 1 and len(db.events) == 1
    assert [first.created, second.created, third.created, again.created] == [
        True, False, False, False]


async def test_a_bad_appeal_fails_alone_and_a_dead_database_fails_all() -> None:
    db = FakeDb()
    committer = _committer(db)
    try:
        outcomes = await asyncio.gather(
            committer.submit(_cmd()), committer.submit(_cmd("poison")),
            committer.submit(_cmd()), return_exceptions=True)
        assert isinstance(outcomes[1], ValueError)
        assert not isinstance(outcomes[0], BaseException)
        assert not isinstance(outcomes[2], BaseException)
        assert len(db.rows) == 2
        db.down = True
        with pytest.raises(ConnectionRefusedError):
            await committer.submit(_cmd())
    finally:
        await committer.stop()
