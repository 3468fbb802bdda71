"""Historical cases from another system's CSV export, mapped onto the appeal command.

The mapping (which column is what, channel and matter translations, how to place rows
of a city that is not ours) comes from a data file (deploy/import/*.toml or .json),
validated by ``HistoryMapping``. Mapping a row is pure: it returns the command and the
historical record, or a reason for rejecting the row that names columns, never values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civicgrid_shared.contracts.events import Channel, HistoricalRecord
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from civicgrid_intake.domain.commands import SubmitAppeal

Code6 = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
MatterCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Strict):
    external_id: str
    created_at: str
    closed_at: str | None = None
    status: str
    agency: str | None = None
    category: str | None = None
    descriptor: str | None = None
    channel: str | None = None


class Content(_Strict):
    template: str = "{category}: {descriptor}"


class TerritoryRule(_Strict):
    rule: Literal["county_first_grid"]
    column: str
    default: Code6
    map: dict[str, Code6] = Field(default_factory=dict)


class HistoryMapping(_Strict):
    version: Literal["1"]
    source: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    timezone: str
    datetime_format: str
    closed_statuses: list[str] = Field(default_factory=lambda: ["Closed"])
    columns: Columns
    content: Content = Content()
    channels: dict[str, Channel]
    territory: TerritoryRule
    matters: dict[str, MatterCode] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @field_validator("channels")
    @classmethod
    def _has_default(cls, value: dict[str, Channel]) -> dict[str, Channel]:
        if "default" not in value:
            raise ValueError("channels needs a 'default' entry")
        return value


class RowRejected(Exception):
    """Why a row cannot be imported (columns and rules only: no values)."""


@dataclass(frozen=True)
class HistoricalAppeal:
    command: SubmitAppeal
    history: HistoricalRecord


def _cell(row: Mapping[str, str | None], column: str | None) -> str | None:
    if column is None:
        return None
    value = row.get(column)
    if value is None:
        return None
    value = value.strip()
    return value or None


def map_row(row: Mapping[str, str | None], m: HistoryMapping,
            first_grid: Callable[[str], str | None]) -> HistoricalAppeal:
    """One CSV row → the appeal command and its history, or RowRejected."""
    zone = ZoneInfo(m.timezone)
    c = m.columns

    def when(column: str | None, required: bool) -> datetime | None:
        raw = _cell(row, column)
        if raw is None:
            if required:
                raise RowRejected(f"{column}: missing")
            return None
        try:
            return datetime.strptime(raw, m.datetime_format).replace(tzinfo=zone)
        except ValueError:
            raise RowRejected(f"{column}: not a date in the mapping's format") from None

    key = _cell(row, c.external_id)
    if key is None:
        raise RowRejected(f"{c.external_id}: missing")
    created = when(c.created_at, required=True)
    assert created is not None
    status = _cell(row, c.status) or "Unknown"
    closed = when(c.closed_at, required=False) if status in m.closed_statuses else None
    if closed is not None and closed < created:
        raise RowRejected(f"{c.closed_at}: before {c.created_at}")
    category = _cell(row, c.category)
    descriptor = _cell(row, c.descriptor)
    content = m.content.template.format(category=category or "", descriptor=descriptor or "")
    content = content.strip(" :")
    if not content:
        raise RowRejected(f"{c.category}: missing (the appeal would have no text)")
    channel_word = _cell(row, c.channel) or ""
    channel = m.channels.get(channel_word, m.channels["default"])
    county = m.territory.map.get(_cell(row, m.territory.column) or "", m.territory.default)
    grid = first_grid(county)
    if grid is None:
        raise RowRejected(f"{m.territory.column}: mapped county has no grid")
    try:
        command = SubmitAppeal(
            channel=channel, external_id=f"{m.source}:{key}"[:128], content=content[:5000],
            grid_code=grid, matter_code=m.matters.get(category or ""), occurred_at=created,
        )
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "(row)"
                         for e in exc.errors(include_input=False)})
        raise RowRejected("invalid: " + ", ".join(fields)) from None
    history = HistoricalRecord(source=m.source, created_at=created, closed_at=closed,
                               status=status, agency=_cell(row, c.agency), category=category)
    return HistoricalAppeal(command, history)
