"""Archive every received file byte-for-byte under MEDCOM_HOME/archive/<sha[:2]>/<sha256>."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from medcom.settings import paths


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def archive_file(path: Path, sha: str | None = None) -> tuple[str, Path]:
    """Copy `path` into the archive (idempotent); returns (sha256, archived path)."""
    sha = sha or sha256_of(path)
    target = paths().ensure().archive / sha[:2] / sha
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha}.{os.getpid()}.partial")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    return sha, target
