import pytest
from pydantic import ValidationError

from shulian_common.catalogue import Catalogue, EventModel, UnknownEventTypeError

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


def test_producers_are_strict() -> None:
    with pytest.raises(ValidationError):
        WidgetCreated(widget_id="w1", size=1, colour="red")  # type: ignore[call-arg]


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


def test_a_type_goes_on_a_topic_of_its_own_service() -> None:
    # Readers find the producer's committed contract by the topic's service.
    with pytest.raises(ValueError, match="not of the service of topic"):
        Catalogue().register(WidgetCreated, type=TYPE, topic="shulian.othersvc.widgets.v1")


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


class GadgetCreated(EventModel):
    """A gadget was created."""

    gadget_id: str


def test_several_services_share_a_catalogue_and_each_renders_only_its_own(cat: Catalogue) -> None:
    cat.register(
        GadgetCreated,
        type="cn.sichuan.shulian.othersvc.gadget.created.v1",
        topic="shulian.othersvc.gadgets.v1",
    )

    own = cat.for_service("testsvc").asyncapi()
    other = cat.for_service("othersvc").asyncapi()

    assert [m["name"] for m in own["components"]["messages"].values()] == [TYPE]
    assert list(own["channels"]) == ["shulian_testsvc_widgets_v1"]
    assert "GadgetCreated" not in str(own)
    assert list(other["channels"]) == ["shulian_othersvc_gadgets_v1"]
    assert [s.type for s in cat] == [
        "cn.sichuan.shulian.othersvc.gadget.created.v1",
        TYPE,
    ]
