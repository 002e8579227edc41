"""Registry's error responses are the ones its OpenAPI documents."""

from __future__ import annotations

from shulian_common.errors import ValidationProblem
from shulian_common.reference import uscc_check_character
from shulian_registry.testing import Registry, register, supplier_body


async def test_a_405_on_a_supplier_lists_every_method_its_path_serves(registry: Registry) -> None:
    supplier = await register(registry)
    response = await registry.client.delete(
        f"/v1/suppliers/{supplier['id']}", headers=registry.province
    )
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")
    assert response.headers["allow"] == "GET, PATCH"


async def test_a_domain_422_carries_the_documented_errors(registry: Registry) -> None:
    body = supplier_body("510104")
    first17 = body["uscc"][:17]
    body["uscc"] = first17 + next(
        c for c in "0123456789ABCDEFGH" if c != uscc_check_character(first17)
    )
    response = await registry.client.post("/v1/suppliers", json=body, headers=registry.province)
    assert response.status_code == 422
    problem = ValidationProblem.model_validate(response.json())
    assert problem.code == "invalid_uscc"
    assert [issue.type for issue in problem.errors] == ["invalid_uscc"]
    openapi = (await registry.client.get("/openapi.json")).json()
    documented = openapi["paths"]["/v1/suppliers"]["post"]["responses"]
    assert documented["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
    assert {"400", "401"} <= set(documented)
