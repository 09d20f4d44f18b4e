"""What `medcom status` knows about builds: one JSON line per build in MEDCOM_HOME/builds.jsonl.

Written by every engine's build (DuckDB or Spark) through `recording()`, read without opening
the warehouse (so `medcom status` works while a writer holds it):

    from warehouse import build_record

    with build_record.recording(engine="spark") as rec:   # outcome "failed" if the block raises
        ...run the build...
        rec["nodes_passed"] = 349
        rec["snapshot"] = "warehouse-20260101T…"          # what readers see afterwards

Fields: engine, started_at (UTC ISO), seconds, outcome (passed | failed), nodes_passed,
nodes_failed, warnings, snapshot, error (first line), log (the run's log file).
Refusals before any work (nothing ingested, writer busy) are not builds and are not recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterator

from medcom.settings import paths

KEEP = 200  # lines kept


def _file():
    return paths().home / "builds.jsonl"


@contextlib.contextmanager
def recording(engine: str) -> Iterator[dict]:
    """Record the build run inside the block (see the module docstring)."""
    from medcom import progress

    rec: dict = {
        "engine": engine,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "outcome": "failed",
        "nodes_passed": None,
        "nodes_failed": None,
        "warnings": None,
        "snapshot": None,
        "error": None,
    }
    t0 = time.monotonic()
    try:
        yield rec
        rec["outcome"] = "passed"
    except BaseException as exc:
        rec["error"] = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:500]
        raise
    finally:
        rec["seconds"] = round(time.monotonic() - t0, 1)
        log = progress.log_path()
        rec["log"] = str(log) if log else None
        with contextlib.suppress(OSError):
            append(rec)


def append(rec: dict) -> None:
    f = _file()
    f.parent.mkdir(parents=True, exist_ok=True)
    lines = f.read_text(encoding="utf-8").splitlines() if f.exists() else []
    lines = [*lines[-(KEEP - 1) :], json.dumps(rec, ensure_ascii=False)]
    tmp = f.with_name(f.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, f)


def history() -> list[dict]:
    """Every recorded build, oldest first (unreadable lines skipped)."""
    f = _file()
    if not f.exists():
        return []
    out = []
    for line in f.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def last() -> dict | None:
    """The latest build, or None."""
    h = history()
    return h[-1] if h else None


def last_passed() -> dict | None:
    """The latest build that passed (what the published snapshot came from), or None."""
    for rec in reversed(history()):
        if rec.get("outcome") == "passed":
            return rec
    return None
