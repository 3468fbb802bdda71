"""Which consumers poll the broker briefly (someone waits on them) and which take bigger,
rarer batches: only the hop from an appeal to a unit's task is "prompt"."""

from __future__ import annotations

from civicgrid_analytics.bootstrap import AnalyticsSettings
from civicgrid_analytics.bootstrap import bootstrap as analytics
from civicgrid_dispatch.bootstrap import DispatchSettings
from civicgrid_dispatch.bootstrap import bootstrap as dispatch
from civicgrid_enforcement.bootstrap import EnforcementSettings
from civicgrid_enforcement.bootstrap import bootstrap as enforcement
from civicgrid_intake.bootstrap import IntakeSettings
from civicgrid_intake.bootstrap import bootstrap as intake
from civicgrid_shared.messaging.subscription import fetch_max_wait_ms
from civicgrid_shared.settings import ServiceSettings


def test_bulk_consumers_wait_longer_for_records_but_never_shorter_than_prompt_ones() -> None:
    embedded = ServiceSettings(kafka_fetch_max_wait_ms=20, kafka_bulk_fetch_max_wait_ms=250)
    assert fetch_max_wait_ms(embedded, "prompt") == 20
    assert fetch_max_wait_ms(embedded, "bulk") == 250
    # Apache Kafka answers a waiting fetch at once: its longer default stays for both.
    kafka = ServiceSettings(kafka_fetch_max_wait_ms=500, kafka_bulk_fetch_max_wait_ms=250)
    assert fetch_max_wait_ms(kafka, "prompt") == fetch_max_wait_ms(kafka, "bulk") == 500


def test_only_registration_is_prompt() -> None:
    paces = {}
    for build, settings in ((intake, IntakeSettings()), (dispatch, DispatchSettings()),
                            (enforcement, EnforcementSettings()),
                            (analytics, AnalyticsSettings())):
        _, runtime = build(settings)  # type: ignore[operator]
        paces |= {spec.name: spec.pace for spec in runtime._consumers}
    assert paces.pop("dispatch-registration") == "prompt"
    assert len(paces) >= 7 and set(paces.values()) == {"bulk"}, paces
