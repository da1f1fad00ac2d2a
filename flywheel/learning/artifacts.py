"""Model artifacts on disk: written once with their SHA-256, loaded only when it still matches."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings


class ArtifactError(RuntimeError):
    """The artifact is missing, altered (checksum mismatch) or unreadable."""


def model_dir() -> Path:
    """FLYWHEEL_MODEL_DIR, default ``var/models/`` of the project."""
    configured = getattr(settings, "FLYWHEEL_MODEL_DIR", "")
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "models"


def artifact_resolve(relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else model_dir() / path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_write(*, payload: dict, relative: str) -> str:
    """Dump ``payload`` to ``relative`` (under the model dir) atomically; returns its SHA-256."""
    target = artifact_resolve(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(handle)
    try:
        import joblib  # with its numpy: only when a model is saved or loaded

        joblib.dump(payload, temporary, compress=3)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return file_sha256(target)


def artifact_load(*, relative: str, sha256: str) -> dict:
    """Load an artifact after checking its checksum (a pickle is only opened when it is the file
    that training wrote)."""
    path = artifact_resolve(relative)
    try:
        actual = file_sha256(path)
    except OSError as error:
        raise ArtifactError(f"artifact {relative} unreadable: {error}") from error
    if actual != sha256:
        raise ArtifactError(
            f"checksum mismatch for {relative}: expected {sha256[:12]}…, found {actual[:12]}…"
        )
    try:
        import joblib

        payload = joblib.load(path)
    except Exception as error:  # a corrupt but checksum-matching file is still a failure
        raise ArtifactError(f"artifact {relative} does not load: {error}") from error
    if not isinstance(payload, dict) or "pipelines" not in payload:
        raise ArtifactError(f"artifact {relative} is not a flywheel model")
    return payload
