"""Demo data: a deterministic, believable province, seeded through the handlers or bulk-loaded."""

from shulian_registry.demo.bulk import bulk_load
from shulian_registry.demo.network import NetworkSeed, network
from shulian_registry.demo.seed import seed, seed_demo
from shulian_registry.demo.suppliers import SupplierSeed, generate

__all__ = ["NetworkSeed", "SupplierSeed", "bulk_load", "generate", "network", "seed", "seed_demo"]
