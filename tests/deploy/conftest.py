"""Fixtures of the deploy tests: the network, and every overlay built once by ``kubectl kustomize``.

No Docker engine nor cluster is needed: the files are built and validated as an API server would
read them. kubectl (Debian's ``kubernetes-client``, which ``./dev test`` installs when missing)
may be absent on a developer's machine: the tests that build overlays then skip, except under
``SHULIAN_REQUIRE_BACKENDS=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from shulian_common.deploy.kubernetes import BACKBONE, OVERLAYS
from shulian_common.deploy.network import Network, load_network

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def network() -> Network:
    """The network of this repository (network.toml, the reference data, the catalogue)."""
    return load_network(ROOT)


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        reason = "kubectl is not installed (apt-get install kubernetes-client)"
        if os.environ.get("SHULIAN_REQUIRE_BACKENDS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return kubectl


def kustomize(kubectl: str, directory: Path) -> list[dict[str, Any]]:
    """The resources ``kubectl kustomize`` builds from ``directory``."""
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize {directory}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def built(network: Network) -> dict[str, list[dict[str, Any]]]:
    """Every node's overlay and the backbone, built: resources by node code (and "backbone")."""
    kubectl = _kubectl()
    directories = {node.code: ROOT / OVERLAYS / node.code for node in network.nodes}
    directories["backbone"] = ROOT / BACKBONE
    with ThreadPoolExecutor(max_workers=4) as pool:  # each build is a process of its own
        futures = {name: pool.submit(kustomize, kubectl, d) for name, d in directories.items()}
        return {name: future.result() for name, future in futures.items()}
