"""Dispatch's case events, as intake needs them: which cases are open (duplicates) and
what the citizen may read about the progress of an appeal (public notes, no personal
data: unit names are public, phones and points never appear)."""

from __future__ import annotations

from typing import Any

from civicgrid_shared.contracts.envelope import Envelope, EventPayload
from civicgrid_shared.contracts.events import (
    CaseAssigned,
    CaseCalledBack,
    CaseClosed,
    CaseMerged,
    CaseRegistered,
    CaseRejected,
    CaseReopened,
    CaseResolved,
    CaseSignedFor,
    Satisfaction,
)
from civicgrid_shared.messaging.consumer import Handler

from civicgrid_intake.service_layer.ports import UnitNames
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork

_SATISFACTION = {
    Satisfaction.SATISFIED: "满意",
    Satisfaction.BASICALLY_SATISFIED: "基本满意",
    Satisfaction.NOT_SATISFIED: "不满意",
}


class CaseEventHandlers:
    def __init__(self, units: UnitNames) -> None:
        self._units = units

    async def registered(self, e: CaseRegistered, env: Envelope, uow: IntakeUnitOfWork) -> None:
        uow.case_view.case_registered(e.case_id, e.appeal_id, e.case_number, e.matter_code,
                                          e.registered_at)
        uow.case_view.set_status(e.appeal_id, "registered", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.registered_at, "registered",
                                       f"已立案，案件编号 {e.case_number}")

    async def assigned(self, e: CaseAssigned, env: Envelope, uow: IntakeUnitOfWork) -> None:
        name = self._units.unit_name(e.unit_id) or "承办单位"
        uow.case_view.set_status(e.appeal_id, "assigned", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.assigned_at, "assigned",
                                       f"已派遣至{name}办理")

    async def signed_for(self, e: CaseSignedFor, env: Envelope, uow: IntakeUnitOfWork) -> None:
        name = self._units.unit_name(e.unit_id) or "承办单位"
        uow.case_view.set_status(e.appeal_id, "signed_for", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.signed_at, "signed_for",
                                       f"{name}已签收")

    async def resolved(self, e: CaseResolved, env: Envelope, uow: IntakeUnitOfWork) -> None:
        uow.case_view.set_status(e.appeal_id, "resolved", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.resolved_at, "resolved",
                                       f"已办结：{e.result}"[:2000])

    async def called_back(self, e: CaseCalledBack, env: Envelope,
                          uow: IntakeUnitOfWork) -> None:
        solved = "已解决" if e.solved else "未解决"
        uow.case_view.set_status(e.appeal_id, "called_back", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.called_back_at, "called_back",
                                       f"已回访：{solved}，{_SATISFACTION[e.satisfaction]}")

    async def closed(self, e: CaseClosed, env: Envelope, uow: IntakeUnitOfWork) -> None:
        uow.case_view.set_case_open(e.case_id, False, e.closed_at)
        uow.case_view.set_status(e.appeal_id, "closed", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.closed_at, "closed", "已结案归档")

    async def reopened(self, e: CaseReopened, env: Envelope, uow: IntakeUnitOfWork) -> None:
        uow.case_view.set_case_open(e.case_id, True, e.reopened_at)
        uow.case_view.set_status(e.appeal_id, "reopened", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.reopened_at, "reopened",
                                       "已重新交办（重办）")

    async def merged(self, e: CaseMerged, env: Envelope, uow: IntakeUnitOfWork) -> None:
        number = await uow.case_view.case_number(e.case_id)
        note = f"与已受理的案件 {number} 合并办理" if number else "与已受理的案件合并办理"
        uow.case_view.set_status(e.appeal_id, "merged", e.case_id)
        uow.case_view.add_progress(env.id, e.appeal_id, e.merged_at, "merged", note)

    async def rejected(self, e: CaseRejected, env: Envelope, uow: IntakeUnitOfWork) -> None:
        uow.case_view.set_status(e.appeal_id, "rejected")
        uow.case_view.add_progress(env.id, e.appeal_id, e.rejected_at, "rejected",
                                       f"不予立案：{e.reason}"[:2000])

    def routes(self) -> dict[type[EventPayload], Handler[Any]]:
        return {
            CaseRegistered: self.registered, CaseAssigned: self.assigned,
            CaseSignedFor: self.signed_for, CaseResolved: self.resolved,
            CaseCalledBack: self.called_back, CaseClosed: self.closed,
            CaseReopened: self.reopened, CaseMerged: self.merged, CaseRejected: self.rejected,
        }
