"""Render every generated deployment file, write them, or tell which are stale.

The generated files are exactly those ``render_all`` returns. Under the directories that hold
nothing else (the overlays and the backbone), a file it does not return is stale as well: an
overlay of a node that is no longer in the network, or a file added by hand.
"""

from __future__ import annotations

from pathlib import Path

from shulian_common.deploy import compose, kubernetes
from shulian_common.deploy.network import Network

# Directories whose every file is generated.
OWNED_DIRECTORIES = (
    kubernetes.OVERLAYS,
    kubernetes.BACKBONE,
    kubernetes.BASE / "settings",
    compose.TOPICS_SCRIPT.parent,
)


def render_all(network: Network) -> dict[Path, str]:
    """Every generated file, by path relative to the repository root."""
    return kubernetes.render(network) | compose.render(network)


def stale_files(root: Path, files: dict[Path, str]) -> list[str]:
    """What differs between ``files`` and the repository at ``root``, one line each."""
    problems = []
    for path, text in sorted(files.items()):
        target = root / path
        if not target.exists():
            problems.append(f"{path} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{path} is stale or was edited by hand")
    problems += [f"{path} is not generated: remove it" for path in _extra_files(root, files)]
    return problems


def write_files(root: Path, files: dict[Path, str]) -> list[Path]:
    """Write ``files`` under ``root`` and remove the extra ones; the paths that changed."""
    changed = []
    for path, text in sorted(files.items()):
        target = root / path
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if path.suffix == ".sh":
            target.chmod(0o755)
        changed.append(path)
    for path in _extra_files(root, files):
        (root / path).unlink()
        changed.append(path)
    for directory in OWNED_DIRECTORIES:
        for sub in sorted((root / directory).glob("**/"), reverse=True):
            if sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()
    return changed


def _extra_files(root: Path, files: dict[Path, str]) -> list[Path]:
    extra = []
    for directory in OWNED_DIRECTORIES:
        for found in sorted((root / directory).rglob("*")):
            relative = found.relative_to(root)
            if found.is_file() and relative not in files:
                extra.append(relative)
    return extra
