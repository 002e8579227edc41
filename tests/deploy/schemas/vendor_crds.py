"""Vendor the openAPIV3Schema of the operators' CRDs that deploy/ renders (run by hand).

    python tests/deploy/schemas/vendor_crds.py RELEASE SOURCE_URL CRD.yaml [...]

Arguments come in triples: RELEASE names the operator's release (e.g. ``strimzi-1.2.0``),
SOURCE_URL where the CRD file was taken from, CRD.yaml the operator's published CRD manifest at
that release tag (``README.md`` lists the ones in use). For every served version the script
writes ``crds/<group>_<version>_<kind>.json``: the release, the source and the version's
``openAPIV3Schema`` as published, less its ``description`` texts and its ``status`` (neither is
applied, and they are most of the bytes). The tests make a strict JSON Schema of it when they
load it (``tests/deploy/crd_schemas.py``); the files here stay the operators' own text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).parent / "crds"


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def vendor(source: str, release: str, path: Path) -> list[Path]:
    """Write the schema of every served version of the CRD(s) in ``path``; the files written."""
    written = []
    for crd in yaml.safe_load_all(path.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", False):
                continue
            schema = dict(version["schema"]["openAPIV3Schema"])
            schema["properties"] = {
                k: v for k, v in schema.get("properties", {}).items() if k != "status"
            }
            target = OUT / f"{group}_{version['name']}_{kind}.json"
            document = {
                "apiVersion": f"{group}/{version['name']}",
                "kind": kind,
                "release": release,
                "source": source,
                "openAPIV3Schema": _strip(schema),
            }
            target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
            written.append(target)
    return written


def main(argv: list[str]) -> int:
    """Vendor each (release, source URL, CRD file) triple of ``argv``."""
    if not argv or len(argv) % 3:
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    OUT.mkdir(exist_ok=True)
    for release, source, path in zip(argv[0::3], argv[1::3], argv[2::3], strict=True):
        for target in vendor(source, release, Path(path)):
            print(target.relative_to(Path(__file__).parent))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
