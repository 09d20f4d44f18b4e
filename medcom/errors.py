"""Errors shown to users as one plain line (details with --verbose)."""


class MedcomError(Exception):
    """An error with a message meant for the user."""

    exit_code = 1


class UsageError(MedcomError):
    exit_code = 2


class WarehouseBusy(MedcomError):
    """Another ingest or build holds the writer lock."""
