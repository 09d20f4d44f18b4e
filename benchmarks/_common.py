"""Helpers shared by the benchmark scripts: run a medcom command and measure it."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS of the children in MB so far)."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.perf_counter()
    subprocess.run(args, env=e, check=True)
    secs = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, peak_kb / 1024


def medcom(*args: str) -> list[str]:
    return [str(BIN / "medcom"), *args]


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
