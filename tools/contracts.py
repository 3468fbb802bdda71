"""The event contract of the whole platform, from the code: ``make contracts``.

``python tools/contracts.py [--check] [--out DIR]`` writes (or checks) docs/asyncapi.json,
docs/events.md and docs/schemas/<event type>/v<N>.json, and refuses to break a released
schema version in place.

Shared holds only the shared topics' flows (``civicgrid_shared.contracts.flows``) and
may not import a service, and services may not import each other: each declares what it
alone writes or reads in its public ``contracts`` module. This script, outside every
package, is the one place that sees them all. The unit tests load it by its path, as
``make contracts`` runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from civicgrid_analytics import contracts as analytics
from civicgrid_enforcement import contracts as enforcement
from civicgrid_intake import contracts as intake
from civicgrid_shared.contracts import docs
from civicgrid_shared.contracts import flows as shared
from civicgrid_shared.contracts.flows import Flow

# In the order of the journey: channel records, appeals, cases and tasks, enforcement,
# hotspots. The document lists topics in their first appearance here.
FLOWS: tuple[Flow, ...] = (*intake.FLOWS, *shared.FLOWS, *enforcement.FLOWS, *analytics.FLOWS)


def generated_files() -> dict[str, str]:
    """Every file under docs/ that the code determines, by path relative to docs/."""
    return docs.generated_files(FLOWS)


def main(argv: Sequence[str] | None = None) -> int:
    return docs.main(argv, FLOWS)


if __name__ == "__main__":
    sys.exit(main())
