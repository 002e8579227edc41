"""The import-linter contracts cover every service, so a new one cannot be forgotten."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _importlinter() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    section: dict[str, Any] = config["tool"]["importlinter"]
    return section


def _service_packages() -> list[str]:
    return sorted(path.name for path in ROOT.glob("services/*/src/shulian_*") if path.is_dir())


def test_no_service_may_import_another_and_every_service_is_listed() -> None:
    config = _importlinter()
    services = _service_packages()

    [independence] = [c for c in config["contracts"] if c["type"] == "independence"]
    assert "shulian_registry" in services
    assert sorted(independence["modules"]) == services
    assert set(services) <= set(config["root_packages"])


def test_the_shared_library_may_import_no_service() -> None:
    [shared] = [
        c for c in _importlinter()["contracts"] if c.get("source_modules") == ["shulian_common"]
    ]
    assert sorted(shared["forbidden_modules"]) == _service_packages()
