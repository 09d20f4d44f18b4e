"""A `medcom ingest` killed inside its load transaction leaves the warehouse as it was.

The test hook MEDCOM_TEST_PAUSE_IN_LOAD makes ingest sleep inside the feed's transaction,
after the rows are inserted and before supersession and audit rows; the test SIGKILLs the
process there, then checks every count and the audit tables against the state before, and
that a re-run loads cleanly. The lake (Parquet copy of the current rows) is checked against
the warehouse at every step; MEDCOM_TEST_PAUSE_AFTER_COMMIT kills a run after COMMIT, before
its lake files are moved into place, and the next run repairs the lake.
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


def _lake_rows(home, feed):
    """Rows of the lake folder of `feed` by a plain directory scan (as another reader would)."""
    files = sorted(str(f) for f in (home / "lake" / "raw" / feed).rglob("*.parquet"))
    assert files, f"no lake files for {feed}"
    return files


def _assert_lake_matches(home, feed="encounters"):
    """The lake's files of `feed` hold exactly the warehouse's current rows, no more, no less."""
    files = _lake_rows(home, feed)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        c.execute(f"CREATE TEMP VIEW lk AS SELECT * FROM read_parquet({files!r}, hive_partitioning = false)")
        cur = f"(SELECT * FROM raw.{feed} WHERE _superseded_by IS NULL)"
        n_lake, n_wh = c.execute(f"SELECT (SELECT count(*) FROM lk), (SELECT count(*) FROM {cur})").fetchone()
        extra = c.execute(f"SELECT count(*) FROM (SELECT * FROM lk EXCEPT ALL SELECT * FROM {cur})").fetchone()[0]
        missing = c.execute(f"SELECT count(*) FROM (SELECT * FROM {cur} EXCEPT ALL SELECT * FROM lk)").fetchone()[0]
    assert (n_lake, extra, missing) == (n_wh, 0, 0)
    return files


def _kill_in_load(home, path, hook="MEDCOM_TEST_PAUSE_IN_LOAD", marker="inside the load transaction"):
    env = _env(home)
    env[hook] = "120"
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
            if marker in line:
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
    lake_before = _assert_lake_matches(home)

    # a correction of the same coverage key, killed mid-load
    fix = write_csv(tmp_path / "b" / "encounters_2021-01_411025_fix.csv", encounters(30_000))
    _kill_in_load(home, fix)
    killed = _state(home)
    # the run itself is on record as started and never finished; nothing of its unit survived
    assert killed.pop("audit.runs") == before["audit.runs"] + 1
    assert killed == {k: v for k, v in before.items() if k != "audit.runs"}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM audit.runs WHERE finished_at IS NULL").fetchone()[0] == 1
    # the lake is untouched: the same files, still exactly the warehouse's rows
    assert _assert_lake_matches(home) == lake_before

    assert list((home / "tmp").glob("r*/*.duckdb"))  # the killed run's scratch is still there …
    # the lock died with the process; a re-run loads cleanly
    p = _ingest(home, fix)
    assert not list((home / "tmp").glob("r*/*.duckdb"))  # … and the next run removes it
    assert "accepted" in p.stdout
    after = _state(home)
    assert after["raw.encounters"] == 50_000
    assert after["raw.encounters:current"] == 30_000
    assert after["audit.replacements"] == before["audit.replacements"] + 1
    assert _assert_lake_matches(home) != lake_before
    assert not (home / "lake" / ".staging").exists()


def test_kill_after_commit_before_the_lake_files_move(tmp_path):
    home = tmp_path / "home"
    write_reference(tmp_path / "ref")
    _ingest(home, tmp_path / "ref")
    _ingest(home, write_csv(tmp_path / "a" / "encounters_2021-01_411025.csv", encounters(5_000)))
    lake_before = _assert_lake_matches(home)

    fix = write_csv(tmp_path / "b" / "encounters_2021-01_411025_fix.csv", encounters(7_000))
    _kill_in_load(home, fix, hook="MEDCOM_TEST_PAUSE_AFTER_COMMIT", marker="before the lake files move")
    # the warehouse committed the correction; the lake folder still holds the old file …
    assert _state(home)["raw.encounters:current"] == 7_000
    assert _lake_rows(home, "encounters") == lake_before
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        listed = c.execute("SELECT sum(n_rows) FROM audit.lake_files WHERE feed = 'encounters'").fetchone()[0]
    assert listed == 7_000  # … but the lake's list, committed with the rows, is already right

    # the next run (here: the same file again, a duplicate) repairs the lake from the warehouse
    p = _ingest(home, fix, check=False)
    assert "duplicate" in p.stdout
    _assert_lake_matches(home)
    assert not (home / "lake" / ".staging").exists()


def test_more_partitions_than_open_files_still_one_file_each(tmp_path, monkeypatch):
    """A partitioned COPY closes files beyond `partitioned_write_max_open_files` and would start a
    second file for a partition (a province's first ingest touches hundreds): the lake writes
    partitions in groups that fit, one file per partition, rows exactly the warehouse's."""
    from warehouse import lake

    home = tmp_path / "home"
    write_reference(tmp_path / "ref")
    _ingest(home, tmp_path / "ref")
    months = ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05"]
    # two files, each spanning every month: in batch order the partitions come round twice
    inbox = tmp_path / "in"
    for k in (1, 2):
        rows = [r for m in months for r in encounters(1_200, month=m)[(k - 1) * 600 : k * 600]]
        write_csv(inbox / f"encounters_2021-01_41102{k}.csv", rows)
    _ingest(home, inbox)
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    with duckdb.connect(str(home / "warehouse.duckdb")) as c:
        c.execute("SET partitioned_write_max_open_files = 2")
        c.execute("SET partitioned_write_flush_threshold = 50")  # flush often, as a big ingest does
        c.execute("DELETE FROM audit.lake_files WHERE feed = 'encounters'")  # lost list: rebuild the feed
        assert lake.reconcile(c) == len(months)
        listed = c.execute("SELECT count(*), sum(n_rows) FROM audit.lake_files WHERE feed = 'encounters'").fetchone()
    assert listed == (len(months), 6_000)
    folders = {os.path.dirname(f) for f in _lake_rows(home, "encounters")}
    assert len(folders) == len(months) == len(_lake_rows(home, "encounters"))
    _assert_lake_matches(home)
