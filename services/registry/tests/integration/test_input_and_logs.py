"""Text no database can store is refused with 422, and no log line carries personal data.

The run is the one a new user made on PostgreSQL: suppliers full of contact details, refused
requests, a NUL in a field, and a database failure in the middle of a write (a 500), with every
logger at DEBUG. The contact details must appear in no log record and nowhere on stderr.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shulian_common.app import runtime_of
from shulian_registry.testing import Registry, registry_settings_for, running, supplier_body

CONTACT_NAME = "隐私联系人甲"
PHONE = "13987654321"
EMAIL = "privacy.probe@example.cn"
OTHER_NAME = "第二联系人乙"
OTHER_PHONE = "13711112222"
OTHER_EMAIL = "second.probe@example.cn"
PERSONAL = (CONTACT_NAME, PHONE, EMAIL, OTHER_NAME, OTHER_PHONE, OTHER_EMAIL)


def _body(county: str, name: str, phone: str, email: str, **extra: Any) -> dict[str, Any]:
    return supplier_body(county, contact={"name": name, "phone": phone, "email": email}, **extra)


def _refused(response: Any, loc: list[Any]) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_character"
    assert [issue["loc"] for issue in body["errors"]] == [loc]
    assert "\x00" not in json.dumps(body["errors"], ensure_ascii=False)


async def test_nul_and_lone_surrogates_are_refused_everywhere(registry: Registry) -> None:
    client, admin = registry.client, registry.province
    created = await client.post("/v1/suppliers", json=supplier_body("510104"), headers=admin)
    supplier_id = created.json()["id"]
    in_field = _body("510104", "王\x00五", PHONE, EMAIL)
    surrogate = json.dumps(supplier_body("510104")).replace('"recruitment"', '"\\udc80"')
    json_headers = {**admin, "content-type": "application/json"}

    _refused(
        await client.post("/v1/suppliers", json=in_field, headers=admin),
        ["body", "contact", "name"],
    )
    _refused(
        await client.post("/v1/suppliers", content=surrogate, headers=json_headers),
        ["body", "service_lines", 0],
    )
    _refused(await client.get("/v1/suppliers?q=a%00b", headers=admin), ["query", "q"])
    _refused(await client.get("/v1/suppliers?cursor=%00", headers=admin), ["query", "cursor"])
    _refused(await client.get(f"/v1/suppliers/{supplier_id}%00", headers=admin), ["path"])
    _refused(
        await client.patch(
            f"/v1/suppliers/{supplier_id}",
            json={"name": "新名称"},
            headers={**admin, "If-Match": '"1\x00"'},
        ),
        ["header", "if-match"],
    )
    listed = await client.get("/v1/suppliers?limit=100", headers=admin)
    assert [s["id"] for s in listed.json()["items"]] == [supplier_id]


async def test_an_escaped_backslash_before_u0000_is_plain_text(registry: Registry) -> None:
    # "\\u0000" in JSON is a backslash followed by "u0000": storable, so accepted.
    body = json.dumps(supplier_body("510104", name="测试\\u0000人力资源有限公司"))
    assert "\\\\u0000" in body
    response = await registry.client.post(
        "/v1/suppliers",
        content=body,
        headers={**registry.province, "content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "测试\\u0000人力资源有限公司"


async def _refuse_supplier_inserts(registry: Registry) -> None:
    """Make the database fail every new supplier row (not as a constraint: that is a 409)."""
    async with runtime_of(registry.app).engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse_suppliers BEFORE INSERT ON suppliers "
                    "BEGIN INSERT INTO storage_failure VALUES (1); END"
                )
            )
            return
        await connection.execute(
            text(
                "CREATE FUNCTION refuse_suppliers() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'storage_failure'; END $$"
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_suppliers BEFORE INSERT ON suppliers "
                "FOR EACH ROW EXECUTE FUNCTION refuse_suppliers()"
            )
        )


async def _personal_data_run(node: Registry) -> list[int]:
    client, admin = node.client, node.province
    statuses = []
    first = _body("510104", CONTACT_NAME, PHONE, EMAIL)
    created = await client.post("/v1/suppliers", json=first, headers=admin)
    supplier_id = created.json()["id"]
    again = await client.post("/v1/suppliers", json=first, headers=admin)  # same USCC: 409
    bad_uscc = _body("510104", OTHER_NAME, OTHER_PHONE, OTHER_EMAIL, uscc="91510100MA0000000X")
    refused = await client.post("/v1/suppliers", json=bad_uscc, headers=admin)
    nul = _body("510104", f"{OTHER_NAME}\x00", OTHER_PHONE, OTHER_EMAIL)
    with_nul = await client.post("/v1/suppliers", json=nul, headers=admin)
    changed = await client.patch(
        f"/v1/suppliers/{supplier_id}",
        json={"contact": {"name": OTHER_NAME, "phone": OTHER_PHONE, "email": OTHER_EMAIL}},
        headers={**admin, "If-Match": created.headers["etag"]},
    )
    read = await client.get(f"/v1/suppliers/{supplier_id}", headers=admin)
    searched = await client.get(f"/v1/suppliers?q={PHONE}", headers=admin)
    await _refuse_supplier_inserts(node)
    crashed = await client.post(
        "/v1/suppliers", json=_body("510105", CONTACT_NAME, PHONE, EMAIL), headers=admin
    )
    for response in (created, again, refused, with_nul, changed, read, searched, crashed):
        statuses.append(response.status_code)
    return statuses


async def test_no_log_line_carries_personal_data(
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings = registry_settings_for(database_url, tmp_path, "510000").model_copy(
        update={"log_level": "DEBUG", "log_json": True}
    )
    async with running(settings) as node:
        caplog.set_level(logging.DEBUG)
        statuses = await _personal_data_run(node)
    assert statuses == [201, 409, 422, 422, 200, 200, 200, 500]

    formatter = logging.Formatter()
    records = [f"{formatter.format(record)} {vars(record)}" for record in caplog.records]
    assert any("storage_failure" in line for line in records), "the 500 was logged"
    stderr = capfd.readouterr().err
    assert "storage_failure" in stderr
    for value in PERSONAL:
        assert not [line for line in records if value in line], value
        assert value not in stderr, value
