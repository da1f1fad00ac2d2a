"""The site's own table: claims on keys, the lock ``flywheel_site.locks`` takes on SQLite."""

from __future__ import annotations

from django.db import models


class KeyClaim(models.Model):
    """A lock on one key held across calls to other systems (a Salesforce read and write) where
    a database lock cannot be held that long: on SQLite a transaction would take the whole
    database's write lock. Written and removed by ``flywheel_site.locks.keys_locked``."""

    key = models.CharField(max_length=200, unique=True)
    holder = models.CharField(max_length=160, help_text="host:pid:thread:token of the holder.")
    claimed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} held by {self.holder}"
