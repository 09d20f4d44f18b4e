"""Run the installed `medcom` command as a user would (shared by the test modules)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MEDCOM = str(BIN / "medcom")


def run_medcom(
    *args: str,
    home: Path,
    check: bool = False,
    timeout: float = 900,
    env: dict | None = None,
    cwd=None,
    input_text: str | None = None,
):
    """Run the installed `medcom` command in a subprocess, as a user would."""
    e = dict(os.environ)
    e["MEDCOM_HOME"] = str(home)
    e.setdefault("MEDCOM_SECRET", "test-secret")
    e.update(env or {})
    proc = subprocess.run(
        [MEDCOM, *args],
        env=e,
        cwd=cwd or home.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"medcom {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc
