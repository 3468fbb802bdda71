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


# The everyday shape is encoded and decoded without the CloudEvents SDK (for speed);
# these pin that the result is what the SDK itself gives.
def _sdk_encode(out_attrs: dict[str, object], data: bytes, key: str
                ) -> list[tuple[str, bytes]]:
    from civicgrid_shared.contracts.envelope import _FORMAT
    from cloudevents.core.bindings import kafka as ce_kafka
    from cloudevents.core.v1.event import CloudEvent

    message = ce_kafka.to_binary(CloudEvent(attributes=out_attrs, data=data), _FORMAT,
                                 key_mapper=lambda _: key)
    return list(message.headers.items())


def _sdk_decode(headers: list[tuple[str, bytes]], key: bytes, value: bytes) -> dict[str, object]:
    from civicgrid_shared.contracts.envelope import _FORMAT
    from cloudevents.core.bindings import kafka as ce_kafka
    from cloudevents.core.v1.event import CloudEvent

    event = ce_kafka.from_binary(ce_kafka.KafkaMessage(headers=dict(headers), key=key,
                                                       value=value), _FORMAT, CloudEvent)
    return event.get_attributes()


@pytest.mark.parametrize("when", [
    datetime(2026, 11, 22, 8, 0, tzinfo=UTC),  # whole seconds: no fraction is written
    datetime(2026, 11, 22, 8, 0, 1, 123456, tzinfo=UTC),
    None,  # now
])
@pytest.mark.parametrize("causation", [None, uuid.uuid4()])
def test_fast_encoding_equals_the_sdk(when: datetime | None, causation: uuid.UUID | None
                                      ) -> None:
    payload = _appeal()
    out = new_event(payload, topic=APPEALS.name, key="k-1", source="/civicgrid/intake",
                    time=when, causation_id=causation)
    env = decode(out.headers, b"k-1", out.value, APPEALS.name)
    attrs: dict[str, object] = {
        "id": str(out.event_id), "source": "/civicgrid/intake",
        "type": payload.event_type, "specversion": "1.0", "time": env.time,
        "subject": "k-1", "datacontenttype": "application/json",
        "correlationid": str(out.event_id), "schemaversion": "1",
    }
    if causation is not None:
        attrs["causationid"] = str(causation)
    assert out.headers == _sdk_encode(attrs, out.value, "k-1")
    sdk = _sdk_decode(out.headers, b"k-1", out.value)
    assert (env.id, env.type, env.source, env.subject, env.time, env.causation_id) == (
        uuid.UUID(str(sdk["id"])), sdk["type"], sdk["source"], sdk["subject"], sdk["time"],
        uuid.UUID(str(sdk["causationid"])) if "causationid" in sdk else None)
    if when is not None:
        assert env.time == when


def test_a_time_not_in_utc_is_still_encoded_by_the_sdk() -> None:
    from datetime import timedelta, timezone

    when = datetime(2026, 11, 22, 16, 0, tzinfo=timezone(timedelta(hours=8)))
    out = new_event(_appeal(), topic=APPEALS.name, key="k", source="/x", time=when)
    assert dict(out.headers)["ce_time"] == b"2026-11-22T16:00:00+08:00"
    assert decode(out.headers, b"k", out.value).time == when


@pytest.mark.parametrize("change", [
    {"ce_time": b"2026-11-22T16:00:00.5+08:00"},  # another valid form: the SDK parses it
    {"ce_partitionkey": b"p"},  # an attribute the fast path does not know
    {"ce_id": None, "CE_ID": str(uuid.uuid4()).encode()},  # header names are not case-sensitive
])
def test_unusual_but_valid_records_decode_as_the_sdk_decodes_them(
        change: dict[str, bytes | None]) -> None:
    out = new_event(_appeal(), topic=APPEALS.name, key="k", source="/x")
    headers = [h for h in out.headers if h[0] not in change]
    headers += [(k, v) for k, v in change.items() if v is not None]
    env = decode(headers, b"k", out.value)
    sdk = _sdk_decode(headers, b"k", out.value)
    assert (str(env.id), env.time) == (sdk["id"], sdk["time"])


@pytest.mark.parametrize("change", [
    {"ce_specversion": b"0.3"}, {"ce_type": None}, {"ce_id": b""},
    {"ce_time": b"yesterday"}, {"ce_source": b"\xff\xfe"}, {"ce_time": None, "ce_id": None},
])
def test_broken_records_are_refused_with_a_reason(change: dict[str, bytes | None]) -> None:
    out = new_event(_appeal(), topic=APPEALS.name, key="k", source="/x")
    headers = [h for h in out.headers if h[0] not in change]
    headers += [(k, v) for k, v in change.items() if v is not None]
    with pytest.raises(EnvelopeError):
        decode(headers, b"k", out.value)
