"""Load the seed files: config/routing_policy.json (and config/templates.json when available)."""

from __future__ import annotations

import importlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.services.config import policy_load_file
from routing.services.policy import PolicyInvalid


class Command(BaseCommand):
    help = "Load the routing policy (and templates) seed files; same content → no new version."

    def add_arguments(self, parser: CommandParser) -> None:
        config = Path(settings.BASE_DIR) / "config"
        parser.add_argument("--routing", type=Path, default=config / "routing_policy.json")
        parser.add_argument(
            "--templates",
            type=Path,
            default=None,
            help=f"Default: {config / 'templates.json'} when it exists.",
        )

    def handle(self, *args: object, **options: object) -> None:
        self.verbosity = int(options.get("verbosity", 1))
        routing_file = Path(options["routing"])
        try:
            result = policy_load_file(path=routing_file)
        except PolicyInvalid as error:
            problems = "\n  - ".join(error.messages)
            raise CommandError(
                f"The routing policy in {routing_file} was not loaded; the active policy is "
                f"unchanged. Fix:\n  - {problems}"
            ) from error
        state = "published as" if result.created else "unchanged, still"
        self._say(f"Routing policy {state} version {result.policy.version} ({result.reps} reps).")
        templates = Path(options["templates"]) if options["templates"] else None
        default = Path(settings.BASE_DIR) / "config" / "templates.json"
        if templates is not None or default.exists():
            self._templates(templates or default)

    def _templates(self, path: Path) -> None:
        loader = getattr(_templates_services(), "templates_load_file", None)
        if loader is None:
            self._say("Templates: loader not available in this build; skipped.")
            return
        if not path.exists():
            raise CommandError(f"Templates file {path} does not exist.")
        try:
            outcome = loader(path=path)
        except (ValueError, OSError) as error:
            raise CommandError(f"The templates in {path} were not loaded: {error}") from error
        self._say(f"Templates loaded from {path}: {outcome}")

    def _say(self, message: str) -> None:
        if self.verbosity > 0:
            self.stdout.write(message)


def _templates_services() -> object:
    try:
        return importlib.import_module("templates_app.services")
    except ImportError:
        return None
