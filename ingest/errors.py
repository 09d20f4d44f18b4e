"""Errors raised while reading an input file.

`FileRejected(reason)` means the whole file is rejected; `reason` is one of the plain-words
file verdict reasons of docs/architecture.md ("file is empty", "file is truncated", ...).
"""

from __future__ import annotations


class FileRejected(Exception):
    """The file cannot be ingested at all; `.reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
