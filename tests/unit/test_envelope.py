import uuid
from datetime import UTC, datetime

import pytest
from civicgrid_shared.contracts.envelope import EnvelopeError, decode, new_event
from civicgrid_shared.contracts.events import EVENT_TYPES, AppealReceived, Channel, TerritoryRef
from civicgrid_shared.contracts.topics import ALL_TOPICS, APPEALS, TopicSpec, validate_registry


def _appeal() -> AppealReceived:
    return AppealReceived(
        appeal_id=uuid.uuid4(), tracking_code="ABCDEFGH12", channel=Channel.HOTLINE,
        received_at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC), content="路灯坏了",
        territory=TerritoryRef(county_code="140502"), contact_phone_masked="138****1234",
    )


def test_round_trip_keeps_attributes_and_payload() -> None:
    payload = _appeal()
    corr = uuid.uuid4()
    out = new_event(payload, topic=APPEALS.name, key=str(payload.appeal_id),
                    source="/civicgrid/intake", correlation_id=corr)
    headers = dict(out.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"civicgrid.appeal.received"
    assert headers["ce_subject"] == str(payload.appeal_id).encode()
    assert headers["ce_correlationid"] == str(corr).encode()
    assert headers["ce_schemaversion"] == b"1"
    env = decode(out.headers, out.key.encode(), out.value, APPEALS.name)
    assert env.id == out.event_id
    assert env.correlation_id == corr
    assert env.key == str(payload.appeal_id)
    assert env.payload(AppealReceived) == payload


def test_headers_and_key_carry_no_personal_data() -> None:
    payload = _appeal()
    out = new_event(payload, topic=APPEALS.name, key=str(payload.appeal_id), source="/x")
    visible = b" ".join(v for _, v in out.headers) + out.key.encode()
    assert b"1234" not in visible
    assert "路灯".encode() not in visible


def test_unknown_fields_are_ignored() -> None:
    payload = _appeal()
    out = new_event(payload, topic=APPEALS.name, key="k", source="/x")
    widened = out.value[:-1] + b', "added_in_a_later_version": 7}'
    env = decode(out.headers, b"k", widened)
    assert env.payload(AppealReceived).appeal_id == payload.appeal_id


@pytest.mark.parametrize("headers", [
    [],
    [("ce_id", b"x"), ("ce_type", b"t")],
    [("ce_id", b"not-a-uuid"), ("ce_type", b"t"), ("ce_source", b"/s"),
     ("ce_specversion", b"1.0"), ("ce_time", b"2026-01-01T00:00:00Z")],
])
def test_invalid_envelopes_are_refused(headers: list[tuple[str, bytes]]) -> None:
    with pytest.raises(EnvelopeError):
        decode(headers, b"k", b"{}")


def test_invalid_payload_reason_names_field_not_value() -> None:
    payload = _appeal()
    out = new_event(payload, topic=APPEALS.name, key="k", source="/x")
    bad = out.value.replace(b'"hotline"', b'"13812341234"')
    env = decode(out.headers, b"k", bad)
    with pytest.raises(EnvelopeError) as err:
        env.payload(AppealReceived)
    assert "channel" in str(err.value)
    assert "13812341234" not in str(err.value)


def test_registry_is_valid_and_event_types_unique() -> None:
    validate_registry(ALL_TOPICS)
    assert len(EVENT_TYPES) == len({m.event_type for m in EVENT_TYPES.values()})
    with pytest.raises(ValueError, match=r"versioned|look like"):
        validate_registry((TopicSpec("appeals", 1, "k", "d"),))
    with pytest.raises(ValueError, match="twice"):
        validate_registry((APPEALS, APPEALS))
