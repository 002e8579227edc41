"""Matching's routes."""

from __future__ import annotations

from fastapi import APIRouter

from shulian_matching.api import applications, grabs, orders, talents


def routers() -> list[APIRouter]:
    """Every router of the service."""
    return [orders.router, grabs.router, talents.router, applications.router]
