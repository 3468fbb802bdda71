"""What intake reads on topics of its own: the raw channel topics.

Channel systems that publish straight to Kafka write one record per submission to their
channel's topic: a CloudEvents 1.0 record in the Kafka binding like every event, whose
JSON payload has the fields of the channel's HTTP body. Intake takes each through the
same pipeline as the HTTP endpoints, idempotent by (channel, external id); a record it
cannot decode or accept goes to the dead-letter topic with the reason. The appeals it
accepts are published on the shared appeals topic (``civicgrid_shared.contracts.flows``).

This is intake's public contract: ``tools/contracts.py`` documents it (``make contracts``).
"""

from __future__ import annotations

from civicgrid_shared.contracts.flows import Flow
from civicgrid_shared.contracts.topics import DEAD_LETTER, TopicSpec

from civicgrid_intake.raw_channels import (
    GRID_APP_RAW,
    HOTLINE_RAW,
    RAW_TOPICS,
    WEB_BOARD_RAW,
    RawGridAppReport,
    RawHotlineCall,
    RawWebBoardMessage,
)

#: The topics intake owns (beyond the shared registry).
TOPICS: tuple[TopicSpec, ...] = RAW_TOPICS

_LOCATION = ("Give `grid_code`, or both `latitude` and `longitude` (WGS 84); intake locates "
             "the grid from the point.")
_REFUSED = (f"Intake refuses (to `{DEAD_LETTER.name}`, with the reason in `dlq_reason`) a "
            "record that is not a CloudEvent, a payload that does not match this schema or "
            "breaks a rule above, and a place outside the city.")
_PERSONAL = ("Unlike the events after it, this record carries personal data (the "
             "{who}'s phone number, in full); intake masks it before the appeal goes on.")

FLOWS: tuple[Flow, ...] = (
    Flow(
        HOTLINE_RAW, RawHotlineCall, "hotline call-centre system", ("intake",),
        description=(
            "A call to the 12345 government service hotline, as the call-taking system "
            "records it (工单). It becomes an appeal of channel `hotline` whose external id "
            "is the ticket number, so a re-sent ticket is taken once. Give `transcript` or "
            f"`summary` (or both: the summary becomes the title). {_LOCATION} "
            f"{_PERSONAL.format(who='caller')} {_REFUSED}"),
        key="the hotline ticket number (工单号), as in `ticket_number`", key_format=None,
        example={
            "ticket_number": "12345-20261123-0042",
            "caller_phone": "13812341234",
            "call_time": "2026-11-23T09:12:00+08:00",
            "summary": "路灯不亮",
            "transcript": "来电人反映：小区门口的路灯坏了一个星期了，晚上很黑，请尽快修理。",
            "grid_code": "14050014050200100101",
            "latitude": None,
            "longitude": None,
            "agent_matter_code": "RD-003",
            "callback_consent": True,
        },
    ),
    Flow(
        GRID_APP_RAW, RawGridAppReport, "grid app backend", ("intake",),
        description=(
            "A grid worker's report from the patrol app (网格员APP), found on the worker's "
            "own grid. It becomes an appeal of channel `grid_app` whose external id is the "
            "report id. A problem the worker fixed there and then is reported with "
            "`resolved_on_spot` and a `resolution_note` (即报即办): dispatch registers it as "
            "resolved at grid level, and a call-back follows. Photos and videos travel as "
            "references only. "
            f"{_PERSONAL.format(who='citizen')} {_REFUSED}"),
        key="the app's report id, as in `report_id`", key_format=None,
        example={
            "report_id": "GA-20261123-000173",
            "grid_code": "14050014050200100101",
            "grid_worker_id": "gw-140502001001-01",
            "title": "井盖缺失",
            "description": "丹坊社区3号楼北侧人行道井盖缺失，已设置临时围挡。",
            "found_at": "2026-11-23T08:40:00+08:00",
            "media": ["https://media.civicgrid.example/grid-app/GA-20261123-000173/1.jpg"],
            "resolved_on_spot": False,
            "resolution_note": None,
            "matter_code": "RD-002",
            "contact_phone": "13812345678",
            "latitude": None,
            "longitude": None,
        },
    ),
    Flow(
        WEB_BOARD_RAW, RawWebBoardMessage, "web message boards", ("intake",),
        description=(
            "A message left on a web message board (留言板) or the mayor's mailbox. It "
            "becomes an appeal of channel `web_board` whose external id is "
            "`<board_id>/<message_id>`. "
            f"{_LOCATION} {_PERSONAL.format(who='author')} {_REFUSED}"),
        key="`<board_id>/<message_id>`", key_format=None,
        example={
            "board_id": "mayor-mailbox",
            "message_id": "2026112300017",
            "title": "夜间施工噪音扰民",
            "body": "小区旁边的工地每天晚上十一点以后还在施工，噪音很大，影响休息。",
            "contact": "13912345678",
            "posted_at": "2026-11-23T07:55:00+08:00",
            "matter_code": "EV-001",
            "grid_code": None,
            "latitude": 35.5,
            "longitude": 112.85,
        },
    ),
)
