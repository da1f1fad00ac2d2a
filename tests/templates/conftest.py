"""Fixtures for the template tests: the seven seed templates loaded."""

from pathlib import Path

import pytest

from templates_app import services

SEED = Path(__file__).resolve().parents[2] / "config" / "templates.json"


@pytest.fixture
def templates():
    services.templates_load_file(SEED)
