"""Two registry nodes on one bus, as in a deployment: what one writes reaches the other on drain."""

from __future__ import annotations

from pathlib import Path

from shulian_common.auth import Role
from shulian_common.reference import PROVINCE_CODE
from shulian_registry.testing import register, registry_settings_for, running, supplier_body

CHENGDU = "510100"


async def test_a_supplier_chengdu_registers_reaches_the_province_replica_on_drain(
    database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    async with (
        running(registry_settings_for(database_url, tmp_path, PROVINCE_CODE)) as province,
        running(registry_settings_for(other_database_url, tmp_path, CHENGDU)) as chengdu,
    ):
        for node in (province, chengdu):
            await node.stop_workers()  # events move only when the test drains
        supplier = await register(
            chengdu, supplier_body("510104"), headers=chengdu.auth(Role.CITY_OPERATOR, CHENGDU)
        )
        before = await province.count("remote_suppliers")

        handled = await chengdu.drain(province)

        assert before == 0
        assert handled == 2  # the registration, by each node's consumer
        assert await province.count("remote_suppliers") == 1
        assert await chengdu.count("remote_suppliers") == 0  # its own supplier is not a replica
        [event] = await chengdu.events("supplier.registered")
        assert (event["key"], event["data"]["owner_node"]) == (supplier["id"], CHENGDU)
