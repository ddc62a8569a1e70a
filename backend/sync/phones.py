"""The syncing phone as the server knows it, for the pull, the push and the pull's view of purged children."""
from dataclasses import dataclass


@dataclass
class Phone:
    """What the server knows of the pulling phone."""

    last_pulled_at: int | None
    device_id: str | None
    schema_version: int = 1  # the phone's local schema (SYNC_SCHEMA.md): which tables it has
    migrating: tuple[str, ...] = ()  # tables its schema migration just added: sent whole, once

    def made(self, row) -> bool:
        return self.device_id is not None and row.created_by_device == self.device_id

    def has(self, row, had_child: bool) -> bool:
        return self.made(row) or (had_child and row.created_version <= self.last_pulled_at)

    def may_hold(self, row, lost_version: int) -> bool:
        """Can the phone hold this record of a child the user lost at `lost_version`?"""
        return row.created_version < lost_version and self.has(row, had_child=True)
