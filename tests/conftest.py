"""Fixtures shared by the whole suite: one emulated Salesforce org per test worker, and settings
that point the app at it. No test reaches a real Salesforce or Anthropic host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sf_emulator.testing import EmulatorProcess, running_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with running_emulator(tmp_path_factory.mktemp("sf_org")) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def _usage_not_flushed_after_the_test_database_is_gone() -> Iterator[None]:
    """The usage recorder flushes at exit; in tests the database is gone by then."""
    yield
    from salesforce.usage import recorder

    recorder.discard()


@pytest.fixture(autouse=True)
def _no_real_hosts(request: pytest.FixtureRequest) -> None:
    """Default every test to unreachable Salesforce/Anthropic settings unless a fixture sets them."""
    if not request.config.pluginmanager.has_plugin("django"):
        return
    settings = request.getfixturevalue("settings")
    settings.SF_LOGIN_URL = "https://127.0.0.1:9"
    settings.SF_INTEGRATION_USER_ID = "0055f000000001cAAA"  # the seeded org's integration user
    settings.ANTHROPIC_API_KEY = ""
    settings.ANTHROPIC_BASE_URL = "https://127.0.0.1:9"


def _forget_salesforce_state() -> None:
    from salesforce import auth
    from salesforce.usage import breaker, recorder

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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the lines tests recorded with ``record_property("summary", line)`` (the chaos
    counts): pytest-xdist drops a worker's stdout but sends its reports' properties back."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "summary"
    ]
    if lines:
        terminalreporter.section("summary")
        for line in lines:
            terminalreporter.write_line(str(line))
