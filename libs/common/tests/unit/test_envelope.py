from datetime import UTC, datetime

import pytest

from shulian_common.envelope import CloudEvent, EnvelopeError


def _event(**overrides: object) -> CloudEvent:
    fields: dict[str, object] = {
        "source": "/nodes/511500/registry",
        "type": "cn.sichuan.shulian.registry.supplier.registered.v1",
        "partitionkey": "sup-1",
        "subject": "suppliers/sup-1",
        "time": datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "data": {"name": "宜宾人力资源有限公司", "count": 3},
    }
    fields.update(overrides)
    return CloudEvent.model_validate(fields)


def test_binary_mode_round_trip_keeps_every_attribute() -> None:
    event = _event()
    decoded = CloudEvent.from_record(event.to_headers(), event.to_value(), b"sup-1")
    assert decoded == event


def test_binary_mode_headers_follow_the_kafka_binding() -> None:
    headers = dict(_event().to_headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"cn.sichuan.shulian.registry.supplier.registered.v1"
    assert headers["content-type"] == b"application/json"
    assert headers["traceparent"].startswith(b"00-0af7")
    assert "ce_data" not in headers


def test_value_is_the_json_data_with_chinese_unescaped() -> None:
    assert _event().to_value().decode() == '{"name":"宜宾人力资源有限公司","count":3}'


def test_key_stands_in_for_a_missing_partitionkey_header() -> None:
    event = _event()
    headers = [(k, v) for k, v in event.to_headers() if k != "ce_partitionkey"]
    assert CloudEvent.from_record(headers, event.to_value(), b"sup-1").partitionkey == "sup-1"


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([("ce_source", b"/nodes/510000/x")], b"{}"),  # no id nor type
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_time", b"x")], b"{}"),
        (
            [("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_time", b"2025-01-01")],
            b"[1, 2]",
        ),
        (
            [("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_time", b"2025-01-01")],
            b"not json",
        ),
    ],
)
def test_records_that_are_not_cloudevents_are_refused(
    headers: list[tuple[str, bytes]], value: bytes
) -> None:
    with pytest.raises(EnvelopeError):
        CloudEvent.from_record(headers, value, b"k")


def _valid_record() -> tuple[list[tuple[str, bytes | None]], bytes | None, bytes | None]:
    event = _event()
    return list(event.to_headers()), event.to_value(), b"sup-1"


def _with_header(name: str, value: bytes | None) -> list[tuple[str, bytes | None]]:
    headers, _, _ = _valid_record()
    return [(k, v) for k, v in headers if k != name] + [(name, value)]


def _without_header(name: str) -> list[tuple[str, bytes | None]]:
    headers, _, _ = _valid_record()
    return [(k, v) for k, v in headers if k != name]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ({"headers": _with_header("ce_type", b"\xff\xfe type")}, "header 'ce_type' is not valid"),
        ({"headers": _with_header("traceparent", b"\xc3\x28")}, "header 'traceparent' is not"),
        ({"headers": _without_header("ce_id")}, "header ce_id is missing"),
        ({"headers": _with_header("ce_id", b"")}, "header ce_id is missing"),
        ({"headers": _with_header("ce_source", None)}, "header ce_source is missing"),
        ({"headers": _with_header("ce_time", b"yesterday")}, "not a CloudEvent record"),
        ({"headers": _with_header("ce_specversion", b"0.3")}, "unsupported ce_specversion"),
        ({"value": None}, "the record has no value"),
        ({"value": b"null"}, "event data must be a JSON object"),
        ({"value": b"{not json"}, "the record value is not JSON"),
        ({"value": b"\xff{}"}, "the record value is not JSON"),
        ({"key": None}, "the record has no key"),
        ({"key": b""}, "the record has no key"),
        ({"key": b"\xffsup"}, "the record key is not valid UTF-8"),
    ],
)
def test_every_malformed_record_raises_envelope_error_with_its_reason(
    case: dict[str, object], reason: str
) -> None:
    headers, value, key = _valid_record()
    args: dict[str, object] = {"headers": headers, "value": value, "key": key} | case
    with pytest.raises(EnvelopeError, match=reason):
        CloudEvent.from_record(**args)  # type: ignore[arg-type]


def test_structured_mode_round_trip() -> None:
    event = _event()
    doc = event.to_structured()
    assert doc["specversion"] == "1.0"
    assert doc["data"]["name"] == "宜宾人力资源有限公司"
    assert CloudEvent.from_structured(doc) == event


def test_structured_mode_refuses_unknown_attributes() -> None:
    doc = _event().to_structured() | {"surprise": 1}
    with pytest.raises(EnvelopeError):
        CloudEvent.from_structured(doc)


def test_node_is_read_from_the_source() -> None:
    assert _event().node == "511500"
    assert _event(source="urn:partner:x").node is None
