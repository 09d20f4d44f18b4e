"""Settings from the environment: MEDCOM_HOME (where everything is written) and MEDCOM_SECRET."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def lock(self) -> Path:
        return self.home / "warehouse.lock"

    @property
    def published(self) -> Path:
        return self.home / "published"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def dbt_target(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.home / "dbt" / "logs"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    @property
    def secret_file(self) -> Path:
        return self.home / "secret.key"

    def ensure(self) -> Paths:
        for p in (self.home, self.published, self.archive, self.logs, self.tmp):
            p.mkdir(parents=True, exist_ok=True)
        return self


def paths() -> Paths:
    """Paths under MEDCOM_HOME (default ./data of the working directory), created on demand."""
    home = Path(os.environ.get("MEDCOM_HOME") or "data").expanduser().resolve()
    return Paths(home)


def secret() -> bytes:
    """HMAC key for resident ID numbers: MEDCOM_SECRET, else a random key kept in MEDCOM_HOME (0600)."""
    env = os.environ.get("MEDCOM_SECRET")
    if env:
        return env.encode("utf-8")
    p = paths().ensure()
    f = p.secret_file
    if not f.exists():
        key = secrets.token_hex(32)
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
    return f.read_text().strip().encode("utf-8")
