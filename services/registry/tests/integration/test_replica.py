"""The replica of suppliers other nodes own: fed by their events, named by records here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shulian_common.app import runtime_of
from shulian_common.bus.base import OutgoingMessage, dlt_topic
from shulian_common.consumer import ConsumerRunner
from shulian_common.envelope import CloudEvent
from shulian_common.testing.reliability import read_topic, wait_until
from shulian_registry import contracts, orm
from shulian_registry.domain import new_id
from shulian_registry.testing import (
    PREFIX,
    NodeFactory,
    Registry,
    new_uscc,
    register,
    registry_settings_for,
    running,
    supplier_body,
)

YIBIN = "511500"
CHENGDU = "510100"
COUNTY_OF = {YIBIN: "511502", CHENGDU: "510104"}


def _event(
    supplier_id: str,
    version: int,
    *,
    name: str = "宜宾蜀才人力资源有限公司",
    source_node: str = YIBIN,
    kind: str = "supplier.updated",
    without: tuple[str, ...] = (),
    county: str | None = None,
) -> CloudEvent:
    now = datetime.now(UTC).isoformat()
    county = county or COUNTY_OF[source_node]  # a node speaks of records in its jurisdiction
    data = {
        "id": supplier_id,
        "owner_node": source_node,
        "version": version,
        "created_at": now,
        "updated_at": now,
        "name": name,
        "uscc": new_uscc(county),
        "uscc_region_code": county,
        "county_code": county,
        "city_code": source_node,
        "region": "south",
        "service_lines": ["recruitment"],
        "industries": [],
        "high_end": False,
        "listing_status": "not_applied",
        "listing_industries": [],
        "listing_fields": [],
        "figures": [],
    }
    for name in without:
        del data[name]
    return CloudEvent(
        source=f"/nodes/{source_node}/registry",
        type=f"{PREFIX}{kind}.v1",
        partitionkey=supplier_id,
        data=data,
    )


async def _deliver(node: Registry, *events: CloudEvent) -> None:
    """Publish ``events`` on the node's bus and wait until its consumer has taken them all."""
    consumer = _consumer(node)
    before = consumer.processed + consumer.duplicates + consumer.dead_lettered
    messages = [
        OutgoingMessage(
            topic=contracts.SUPPLIERS_TOPIC,
            key=e.partitionkey,
            value=e.to_value(),
            headers=e.to_headers(),
        )
        for e in events
    ]
    await runtime_of(node.app).publisher.publish(messages)
    await wait_until(
        lambda: (
            consumer.processed + consumer.duplicates + consumer.dead_lettered
            >= before + len(events)
        ),
        message="the events consumed",
    )


def _consumer(node: Registry) -> ConsumerRunner:
    consumer = runtime_of(node.app).consumers
    assert consumer is not None
    return consumer


async def _replica(node: Registry) -> dict[str, dict[str, Any]]:
    engine = runtime_of(node.app).engine
    async with engine.connect() as connection:
        rows = (await connection.execute(select(orm.RemoteSupplier.__table__))).mappings().all()
    return {row["id"]: dict(row) for row in rows}


async def test_a_newer_snapshot_replaces_and_an_older_or_equal_one_does_not(
    node_registry: NodeFactory,
) -> None:
    supplier_id = new_id()
    async with node_registry(CHENGDU) as chengdu:
        await _deliver(chengdu, _event(supplier_id, 1, name="甲", kind="supplier.registered"))
        first = (await _replica(chengdu))[supplier_id]
        await _deliver(chengdu, _event(supplier_id, 3, name="丙"))
        await _deliver(
            chengdu, _event(supplier_id, 2, name="乙"), _event(supplier_id, 3, name="丁")
        )
        row = (await _replica(chengdu))[supplier_id]
        stats = _consumer(chengdu).stats()

    assert (first["name"], first["version"], first["owner_node"]) == ("甲", 1, YIBIN)
    assert (first["county_code"], first["city_code"]) == ("511502", YIBIN)
    assert (row["name"], row["version"]) == ("丙", 3)
    assert (stats["processed"], stats["dead_lettered"]) == (4, 0)


async def test_a_redelivered_event_is_a_no_op(node_registry: NodeFactory) -> None:
    supplier_id = new_id()
    registered = _event(supplier_id, 1, name="甲", kind="supplier.registered")
    async with node_registry(CHENGDU) as chengdu:
        await _deliver(chengdu, registered)
        await _deliver(chengdu, _event(supplier_id, 2, name="乙"))
        await _deliver(chengdu, registered)
        replica = await _replica(chengdu)
        stats = _consumer(chengdu).stats()

    assert (replica[supplier_id]["name"], replica[supplier_id]["version"]) == ("乙", 2)
    assert (stats["processed"], stats["duplicates"]) == (2, 1)


async def test_an_event_from_this_node_is_ignored(node_registry: NodeFactory) -> None:
    ours, theirs = new_id(), new_id()
    async with node_registry(CHENGDU) as chengdu:
        await _deliver(
            chengdu,
            _event(ours, 1, source_node=CHENGDU, kind="supplier.registered"),
            _event(theirs, 1, kind="supplier.registered"),
        )
        replica = await _replica(chengdu)
        stats = _consumer(chengdu).stats()

    assert list(replica) == [theirs]
    assert (stats["processed"], stats["dead_lettered"]) == (2, 0)


async def test_the_replica_tolerates_new_fields_and_dead_letters_data_lacking_its_own(
    node_registry: NodeFactory,
) -> None:
    # The replica validates with its own reader model, not the producer's SupplierSnapshot:
    # fields it does not read may be new, a field it reads may not be missing.
    lean, broken = new_id(), new_id()
    lean_event = _event(lean, 1, kind="supplier.registered")
    lean_event.data["added_in_a_later_minor_version"] = {"x": 1}
    async with node_registry(CHENGDU) as chengdu:
        await _deliver(chengdu, lean_event, _event(broken, 1, without=("county_code",)))
        replica = await _replica(chengdu)
        stats = _consumer(chengdu).stats()
        dlt = await read_topic(
            runtime_of(chengdu.app).bus, dlt_topic(contracts.SUPPLIERS_TOPIC), count=1
        )

    [dead] = [record for record in dlt if record.key == broken.encode()]

    assert list(replica) == [lean]
    assert (replica[lean]["county_code"], replica[lean]["listing_status"]) == (
        "511502",
        "not_applied",
    )
    assert (stats["processed"], stats["dead_lettered"]) == (1, 1)
    assert dead.header("dlt_error") == "EventDataError: county_code: Field required"


async def test_a_supplier_outside_the_publishing_nodes_jurisdiction_is_not_replicated(
    node_registry: NodeFactory,
) -> None:
    usurped, fair = new_id(), new_id()
    async with node_registry(CHENGDU) as chengdu:
        await _deliver(
            chengdu,
            # Yibin publishing a supplier of a Chengdu county: untrusted, whoever it names owner.
            _event(usurped, 1, kind="supplier.registered", county="510104"),
            _event(fair, 1, kind="supplier.registered"),
        )
        replica = await _replica(chengdu)
        stats = _consumer(chengdu).stats()

    assert list(replica) == [fair]
    assert (stats["processed"], stats["dead_lettered"]) == (1, 1)


async def test_a_supplier_of_another_node_may_be_named_by_records_here(
    database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    # Two nodes with their own databases on one bus, as in a deployment.
    async with (
        running(registry_settings_for(other_database_url, tmp_path, YIBIN)) as yibin,
        running(registry_settings_for(database_url, tmp_path, CHENGDU)) as chengdu,
    ):
        supplier = await register(yibin, supplier_body("511502"))
        await wait_until(
            lambda: _has(chengdu, supplier["id"], version=1), message="the replica in Chengdu"
        )
        scenario = {
            "title": "驻成都龙头企业一站式用工服务",
            "supplier_id": supplier["id"],
            "host_kind": "key_enterprise",
            "host_name": "成都某电子信息企业",
            "mode": "one_stop",
            "county_code": "510104",
        }
        created = await chengdu.client.post(
            "/v1/scenarios", json=scenario, headers=chengdu.province
        )
        unknown = await chengdu.client.post(
            "/v1/scenarios", json={**scenario, "supplier_id": new_id()}, headers=chengdu.province
        )
        changed = await yibin.client.patch(
            f"/v1/suppliers/{supplier['id']}",
            json={"name": "宜宾蜀才人力资源集团有限公司"},
            headers={**yibin.province, "If-Match": '"1"'},
        )
        assert changed.status_code == 200, changed.text
        await wait_until(
            lambda: _has(chengdu, supplier["id"], version=2), message="the update in Chengdu"
        )
        renamed = (await _replica(chengdu))[supplier["id"]]
        await wait_until(lambda: _consumer(yibin).processed >= 2, message="Yibin's own events")
        yibin_replica = await _replica(yibin)

    assert created.status_code == 201, created.text
    assert created.json()["supplier_id"] == supplier["id"]
    assert created.json()["owner_node"] == CHENGDU
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_reference")
    assert (renamed["name"], renamed["owner_node"]) == ("宜宾蜀才人力资源集团有限公司", YIBIN)
    assert yibin_replica == {}  # its own suppliers are not replicated


async def _has(node: Registry, supplier_id: str, *, version: int) -> bool:
    row = (await _replica(node)).get(supplier_id)
    return row is not None and row["version"] >= version
