"""What this department does with a task (pure): a stand-in for real work.

A real system would show the task to a person. The reference client signs for every
task at once, returns those outside its competence with a reason, and resolves the
rest with a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from civicgrid_shared.contracts.events import CaseAssigned, UnitAction


@dataclass(frozen=True)
class Decision:
    action: UnitAction
    reason: str | None = None
    result: str | None = None


@dataclass(frozen=True)
class Policy:
    # Matter codes this unit says are not its job: returned (退单) with a reason.
    not_ours: frozenset[str] = field(default_factory=frozenset)
    result_text: str = "已现场处置完毕，问题已解决。"

    def on_assigned(self, task: CaseAssigned) -> list[Decision]:
        if task.matter_code in self.not_ours:
            return [Decision(UnitAction.RETURN, reason="该事项不属于本单位职责，请重新派遣。")]
        return [Decision(UnitAction.SIGN_FOR), Decision(UnitAction.RESOLVE,
                                                          result=self.result_text)]
