import pytest
from pydantic import ValidationError

from shulian_common.catalogue import Catalogue, EventDataError, EventModel, UnknownEventTypeError
from shulian_common.envelope import CloudEvent

TYPE = "cn.sichuan.shulian.testsvc.widget.created.v1"
TOPIC = "shulian.testsvc.widgets.v1"


class WidgetCreated(EventModel):
    """A widget was created."""

    widget_id: str
    size: int


@pytest.fixture
def cat() -> Catalogue:
    catalogue = Catalogue()
    catalogue.register(WidgetCreated, type=TYPE, topic=TOPIC)
    return catalogue


def _event(data: dict[str, object]) -> CloudEvent:
    return CloudEvent(source="/nodes/510000/testsvc", type=TYPE, partitionkey="w1", data=data)


def test_producers_are_strict() -> None:
    with pytest.raises(ValidationError):
        WidgetCreated(widget_id="w1", size=1, colour="red")  # type: ignore[call-arg]


def test_consumers_are_tolerant_of_added_fields(cat: Catalogue) -> None:
    parsed = cat.parse(_event({"widget_id": "w1", "size": 2, "colour": "red"}))
    assert isinstance(parsed, WidgetCreated)
    assert parsed.size == 2


def test_invalid_data_is_an_event_data_error(cat: Catalogue) -> None:
    with pytest.raises(EventDataError):
        cat.parse(_event({"widget_id": "w1"}))


def test_lookups_by_model_and_type(cat: Catalogue) -> None:
    spec = cat.spec_for(WidgetCreated(widget_id="w", size=1))
    assert (spec.type, spec.topic, spec.service) == (TYPE, TOPIC, "testsvc")
    assert cat.spec_of_type(TYPE) is spec
    assert cat.topics("testsvc") == [TOPIC]
    with pytest.raises(UnknownEventTypeError):
        cat.spec_of_type("cn.sichuan.shulian.testsvc.widget.deleted.v1")


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("widget.created", TOPIC),  # not in the project's namespace
        ("cn.sichuan.shulian.testsvc.widget.created", TOPIC),  # no version
        (TYPE, "widgets"),  # topic not shulian.SVC.STREAM.vN
    ],
)
def test_names_outside_the_conventions_are_refused(event_type: str, topic: str) -> None:
    with pytest.raises(ValueError, match="must read"):
        Catalogue().register(WidgetCreated, type=event_type, topic=topic)


def test_a_type_cannot_be_given_to_a_second_model(cat: Catalogue) -> None:
    class Other(EventModel):
        x: int

    with pytest.raises(ValueError, match="already registered"):
        cat.register(Other, type=TYPE, topic=TOPIC)


def test_json_schema_and_asyncapi(cat: Catalogue) -> None:
    schema = cat.json_schemas()[TYPE]
    assert schema["required"] == ["widget_id", "size"]
    doc = cat.asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    channel = doc["channels"]["shulian_testsvc_widgets_v1"]
    assert channel["address"] == TOPIC
    message = doc["components"]["messages"]["testsvc_widget_created_v1"]
    assert message["name"] == TYPE
    assert message["summary"] == "A widget was created."
    payload = doc["components"]["schemas"]["testsvc_widget_created_v1"]
    assert payload["properties"]["size"]["type"] == "integer"
    operation = doc["operations"]["publish_shulian_testsvc_widgets_v1"]
    assert operation["action"] == "send"
