"""The README is the front page: every management command of the project and every setting read
from the environment is listed there (settings also in .env.example), with the code's defaults."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
SETTINGS_SOURCES = (ROOT / "flywheel_site" / "settings.py", ROOT / "flywheel_site" / "env.py")
ENV_READERS = {"str", "bool", "int", "float", "list", "dict", "json", "url", "db_url", "cache_url"}
UNCHECKED_DEFAULT = object()


def env_reads() -> dict[str, object]:
    """Name → default of every ``env.<reader>("NAME", default=...)`` call in the settings code."""
    reads: dict[str, object] = {}
    for source in SETTINGS_SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "env"
                and node.func.attr in ENV_READERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                continue
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            try:
                reads[node.args[0].value] = ast.literal_eval(default) if default else None
            except ValueError:  # computed, e.g. `not DEBUG`: described in words
                reads[node.args[0].value] = UNCHECKED_DEFAULT
    return reads


def readme_table(heading: str) -> dict[str, list[str]]:
    """First-column code name → the row's cells, for the table under ``## heading``."""
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\| `([^`]+)`", line)
        if match:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[match.group(1)] = cells
    return rows


def project_commands() -> set[str]:
    """Commands defined by this project's apps (not Django's or third-party ones)."""
    return {
        name
        for name, app in get_commands().items()
        if (ROOT / app.replace(".", "/")).is_dir() and not app.startswith("django")
    }


def readme_commands() -> set[str]:
    return {key.split()[1] for key in readme_table("Commands") if key.startswith("manage.py ")}


def spelled(default: object) -> str:
    if default in ("", [], {}, None):
        return "empty"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, list):
        return ",".join(str(item) for item in default)
    return str(default)


def test_settings_code_is_found_by_the_parser():
    reads = env_reads()

    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SF_LOGIN_URL", "TTFR_SLA_MINUTES"} <= set(
        reads
    )


def test_every_project_command_is_in_the_readme():
    commands = project_commands()

    assert {"demo", "metrics", "listen", "sf_check"} <= commands
    assert commands - readme_commands() == set()


def test_every_command_in_the_readme_exists():
    assert readme_commands() - set(get_commands()) == set()


def test_every_environment_setting_is_in_the_readme_configuration_table():
    assert set(env_reads()) - set(readme_table("Configuration")) == set()


def test_the_configuration_table_lists_only_settings_read_from_the_environment():
    assert set(readme_table("Configuration")) - set(env_reads()) == set()


@pytest.mark.parametrize("name", sorted(env_reads()))
def test_readme_default_is_the_codes_default(name):
    default = env_reads()[name]
    if default is UNCHECKED_DEFAULT:
        return
    cell = readme_table("Configuration")[name][1].replace("`", "")

    assert spelled(default) in cell


@pytest.mark.parametrize("name", sorted(env_reads()))
def test_every_environment_setting_is_in_env_example(name):
    assert re.search(rf"^#? ?{name}=", ENV_EXAMPLE, flags=re.MULTILINE), name
