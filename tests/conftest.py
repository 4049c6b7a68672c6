"""Shared fixtures: one engine per test session (the guideline is loaded and compiled once)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engine():
    from crlm_kg.recommend import Engine
    return Engine()


@pytest.fixture(scope="session")
def guideline(engine):
    return engine.g
