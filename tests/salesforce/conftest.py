"""Fixtures for the Salesforce layer: a running emulator and settings that point the app at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from salesforce import auth
from salesforce.usage import breaker, recorder
from sf_emulator.testing import EmulatorProcess, running_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with running_emulator(tmp_path_factory.mktemp("sf_org")) as running:
        yield running


def _forget_salesforce_state() -> None:
    auth.clear_token_cache()
    breaker.reset()
    recorder.discard()


@pytest.fixture
def sf_settings(emulator: EmulatorProcess, settings) -> Iterator[EmulatorProcess]:
    """Django settings SF_* aimed at a freshly reset emulator org; no token, breaker or usage
    left over from another test. Retries back off in milliseconds."""
    assert emulator.control("POST", "/__emulator__/reset").status_code == 200
    for name, value in emulator.connection_env.items():
        setattr(settings, name, value)
    settings.SF_RETRY_BASE_SECONDS = 0.001
    _forget_salesforce_state()
    yield emulator
    emulator.control("POST", "/__emulator__/faults", json={"clear": True})
    _forget_salesforce_state()
