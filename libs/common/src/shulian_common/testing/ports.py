"""Ports for processes a test starts and that bind later (``shulian up`` binds after seeding)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive free loopback ports, a multiple of ten, below the
    kernel's ephemeral range: until the process binds them, any outgoing connection on the
    machine may be given an ephemeral port, which a block taken from that range then loses."""
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(100):
        base = random.randrange(10000, low - size, 10)
        if all(_is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError(f"no block of {size} free ports below {low}")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
