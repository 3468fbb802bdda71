"""Raw channel topics: for channel systems that publish straight to Kafka.

One topic per channel, owned by intake (not in the shared registry). Records are
CloudEvents in the Kafka binding like every other event, with the types below and
the channel's own body as the JSON payload (the same fields as the HTTP endpoints).
The record key should be the channel's external id (ticket number, report id,
board/message id). Invalid records go to the dead-letter topic with the reason.
"""

from __future__ import annotations

from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.topics import TopicSpec
from pydantic import ConfigDict

from civicgrid_intake.domain.channels import (
    GridAppReportFields,
    HotlineCallFields,
    WebBoardMessageFields,
)

HOTLINE_RAW = TopicSpec(
    "civicgrid.channel.hotline.v1", 3, "ticket number",
    "Raw 12345 hotline calls published by the call-centre system (civicgrid.channel.hotline.call).",
)
GRID_APP_RAW = TopicSpec(
    "civicgrid.channel.grid-app.v1", 3, "report id",
    "Raw grid-worker reports from the grid app backend (civicgrid.channel.grid-app.report).",
)
WEB_BOARD_RAW = TopicSpec(
    "civicgrid.channel.web-board.v1", 3, "board id/message id",
    "Raw web message board posts (civicgrid.channel.web-board.message).",
)
RAW_TOPICS: tuple[TopicSpec, ...] = (HOTLINE_RAW, GRID_APP_RAW, WEB_BOARD_RAW)

_RAW = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class RawHotlineCall(HotlineCallFields, EventPayload):
    model_config = _RAW
    event_type = "civicgrid.channel.hotline.call"


class RawGridAppReport(GridAppReportFields, EventPayload):
    model_config = _RAW
    event_type = "civicgrid.channel.grid-app.report"


class RawWebBoardMessage(WebBoardMessageFields, EventPayload):
    model_config = _RAW
    event_type = "civicgrid.channel.web-board.message"


RAW_PAYLOADS: tuple[type[EventPayload], ...] = (RawHotlineCall, RawGridAppReport,
                                                RawWebBoardMessage)
