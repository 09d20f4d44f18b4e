"""A `medcom ingest` killed inside its load transaction leaves the warehouse as it was.

The test hook MEDCOM_TEST_PAUSE_IN_LOAD makes ingest sleep inside the feed's transaction,
after the rows are inserted and before supersession and audit rows; the test SIGKILLs the
process there, then checks every count and the audit tables against the state before, and
that a re-run loads cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import duckdb
from ingest_helpers import encounters, write_csv, write_reference
from medcom_cli import MEDCOM


def _env(home):
    e = dict(os.environ)
    e["MEDCOM_HOME"] = str(home)
    e["MEDCOM_SECRET"] = "test-secret"
    return e


def _ingest(home, *paths, extra=None, check=True):
    env = _env(home)
    env.update(extra or {})
    p = subprocess.run([MEDCOM, "ingest", *map(str, paths)], env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def _state(home):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        out = {}
        for (t,) in c.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'audit') ORDER BY 1"
        ).fetchall():
            out[t] = c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            if t.startswith("raw."):
                out[t + ":current"] = c.execute(f"SELECT count(*) FROM {t} WHERE _superseded_by IS NULL").fetchone()[0]
        return out


def _kill_in_load(home, path):
    env = _env(home)
    env["MEDCOM_TEST_PAUSE_IN_LOAD"] = "120"
    proc = subprocess.Popen(
        [MEDCOM, "ingest", str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    seen = []
    try:
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            if "inside the load transaction" in line:
                time.sleep(0.5)
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return
        raise AssertionError("ingest never reached the load transaction:\n" + "".join(seen) + proc.stdout.read())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_inside_the_load_transaction(tmp_path):
    home = tmp_path / "home"
    write_reference(tmp_path / "ref")
    _ingest(home, tmp_path / "ref")
    first = write_csv(tmp_path / "a" / "encounters_2021-01_411025.csv", encounters(20_000))
    _ingest(home, first)
    before = _state(home)
    assert before["raw.encounters:current"] == 20_000

    # a correction of the same coverage key, killed mid-load
    fix = write_csv(tmp_path / "b" / "encounters_2021-01_411025_fix.csv", encounters(30_000))
    _kill_in_load(home, fix)
    killed = _state(home)
    # the run itself is on record as started and never finished; nothing of its unit survived
    assert killed.pop("audit.runs") == before["audit.runs"] + 1
    assert killed == {k: v for k, v in before.items() if k != "audit.runs"}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM audit.runs WHERE finished_at IS NULL").fetchone()[0] == 1

    assert list((home / "tmp").glob("r*/*.duckdb"))  # the killed run's scratch is still there …
    # the lock died with the process; a re-run loads cleanly
    p = _ingest(home, fix)
    assert not list((home / "tmp").glob("r*/*.duckdb"))  # … and the next run removes it
    assert "accepted" in p.stdout
    after = _state(home)
    assert after["raw.encounters"] == 50_000
    assert after["raw.encounters:current"] == 30_000
    assert after["audit.replacements"] == before["audit.replacements"] + 1
