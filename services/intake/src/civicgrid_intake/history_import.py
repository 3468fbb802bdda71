"""``python -m civicgrid_intake.history_import <csv> --mapping <toml|json>``

Loads historical cases through intake's own pipeline (build, store, outbox) with their
original times: AppealReceived.received_at is the source's created time and
AppealReceived.history carries what the case went through. Runs as a CLI process with
the service's settings (CIVICGRID_DATABASE_URL, ...), commits in batches, and is
idempotent: a row already imported (same channel and external id) is skipped. The
running intake service's outbox relay publishes the events.

Output: progress lines, then a summary (imported, skipped duplicates, rejected rows
with their row numbers and reasons). Never prints a row's values.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import create_pool
from civicgrid_shared.errors import SafeError, safe_reason
from civicgrid_shared.reference.loader import load_matters, load_territory
from pydantic import ValidationError

from civicgrid_intake.adapters.reference import CatalogRules, ReferenceLocator
from civicgrid_intake.bootstrap import MIGRATIONS, SERVICE, SOURCE, IntakeSettings
from civicgrid_intake.domain.history import HistoricalAppeal, HistoryMapping, RowRejected, map_row
from civicgrid_intake.service_layer.handlers import Pipeline, prepare, store_appeals
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork


class MappingError(ValueError):
    pass


def load_mapping(path: str | Path) -> HistoryMapping:
    path = Path(path)
    try:
        raw = (tomllib.loads(path.read_text("utf-8")) if path.suffix == ".toml"
               else json.loads(path.read_text("utf-8")))
    except (OSError, ValueError) as exc:
        raise MappingError(f"{path.name}: unreadable ({type(exc).__name__})") from None
    try:
        mapping = HistoryMapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MappingError(f"{path.name}: {where}: {first['msg']}") from None
    catalog = load_matters()
    unknown = sorted({c for c in mapping.matters.values() if catalog.matter(c) is None})
    if unknown:
        raise MappingError(f"{path.name}: matters: codes not in the catalog: {unknown}")
    return mapping


def first_grids() -> dict[str, str]:
    """Each county's first grid (smallest code): the placement of rows from elsewhere."""
    grids: dict[str, str] = {}
    for g in sorted(load_territory().grids, key=lambda g: g.code):
        grids.setdefault(g.county_code, g.code)
    return grids


@dataclass
class Summary:
    rows: int = 0
    imported: int = 0
    skipped_duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        return Counter(reason for _, reason in self.rejected)


def read_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str | None]]]:
    reader = csv.DictReader(stream)
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        yield number, dict(row)


async def run_import(csv_path: Path, mapping: HistoryMapping, settings: IntakeSettings,
                     batch_size: int = 500, out: TextIO = sys.stdout) -> Summary:
    await migrate(settings.database_url, SERVICE, MIGRATIONS)
    pool = await create_pool(settings.database_url, SERVICE, 1, 2)
    pipeline = Pipeline(locator=ReferenceLocator(), matters=CatalogRules(), classifier=None)
    grids = first_grids()
    summary = Summary()
    started = time.monotonic()

    async def flush(batch: list[tuple[int, HistoricalAppeal]]) -> None:
        prepared = []
        for number, item in batch:
            try:
                prepared.append(prepare(item.command, pipeline, history=item.history))
            except SafeError as exc:
                summary.rejected.append((number, safe_reason(exc)))
        async with IntakeUnitOfWork(pool, SERVICE, source=SOURCE) as uow:
            for result in await store_appeals(prepared, uow, pipeline):
                if result.created:
                    summary.imported += 1
                else:
                    summary.skipped_duplicates += 1
            await uow.commit()

    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as stream:
            batch: list[tuple[int, HistoricalAppeal]] = []
            for number, row in read_rows(stream):
                summary.rows += 1
                try:
                    batch.append((number, map_row(row, mapping, grids.get)))
                except RowRejected as exc:
                    summary.rejected.append((number, str(exc)))
                if len(batch) >= batch_size:
                    await flush(batch)
                    batch = []
                    print(f"progress: {summary.rows} rows read, {summary.imported} imported, "
                          f"{summary.skipped_duplicates} skipped, {len(summary.rejected)} "
                          f"rejected ({time.monotonic() - started:.1f}s)", file=out, flush=True)
            if batch:
                await flush(batch)
    finally:
        await pool.close()
    return summary


def print_summary(summary: Summary, out: TextIO = sys.stdout, show: int = 20) -> None:
    print(f"rows: {summary.rows}", file=out)
    print(f"imported: {summary.imported}", file=out)
    print(f"skipped duplicates (already imported): {summary.skipped_duplicates}", file=out)
    print(f"rejected: {len(summary.rejected)}", file=out)
    for reason, count in summary.reasons().most_common():
        print(f"  {count} × {reason}", file=out)
    for number, reason in summary.rejected[:show]:
        print(f"  row {number}: {reason}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m civicgrid_intake.history_import",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--mapping", type=Path, required=True,
                        help="column mapping (.toml or .json), e.g. deploy/import/nyc_311.toml")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    try:
        mapping = load_mapping(args.mapping)
    except MappingError as exc:
        print(f"mapping refused: {exc}", file=sys.stderr)
        return 2
    if not args.csv.is_file():
        print(f"no such file: {args.csv}", file=sys.stderr)
        return 2
    summary = asyncio.run(run_import(args.csv, mapping, IntakeSettings(), args.batch_size))
    print_summary(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
