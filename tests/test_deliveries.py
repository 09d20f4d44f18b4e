"""The generator's delivery calendar and its replay (medcom generate --calendar, medcom demo)."""

from __future__ import annotations

import datetime as dt
import io
import json

import duckdb

from ingest.run import ingest_paths
from medcom.generate import generate
from medcom.generate.deliveries import CALENDAR, arrivals, write_calendar


def _rows(path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip()) - 1


def test_calendar_then_replay_records_true_arrivals_and_warns_on_the_outlier(medcom_home, tmp_path):
    inbox = tmp_path / "inbox"
    generate(inbox, start="2020-01", months=9, scale=0.005, seed=3, quiet=True)
    before = {p.name: _rows(p) for p in (inbox / "encounters").glob("*.csv")}
    cal = write_calendar(inbox, seed=3)
    assert json.loads((inbox / CALENDAR).read_text(encoding="utf-8")) == cal
    # one county's month withheld, one county-month halved, most files on time, some late
    (missing,) = cal["missing"]
    assert not (inbox / missing).exists()
    out = inbox / cal["outlier"]
    assert _rows(out) == (before[out.name] + 1) // 2
    notes = [d["note"] for d in cal["deliveries"]]
    assert notes.count("late") >= 1 and notes.count("on time") > 4 * notes.count("late")
    for d in cal["deliveries"]:  # a monthly file arrives in the following month
        name = d["path"].rsplit("/", 1)[-1]
        if name.startswith("encounters_"):
            y, m = int(name[11:15]), int(name[16:18])
            got = dt.datetime.fromisoformat(d["received_at"])
            assert (got.year * 12 + got.month) - (y * 12 + m) == 1, d
    # replay: one run, every batch with its file's arrival
    res = ingest_paths([inbox], out=io.StringIO(), received_at=arrivals(inbox), publish=False)
    assert res.ok
    with duckdb.connect(str(medcom_home / "warehouse.duckdb"), read_only=True) as c:
        got = dict(
            c.execute(
                "SELECT file_name, strftime(received_at, '%Y-%m-%d %H:%M:%S') FROM audit.ingest_batches "
                "WHERE received_at_stated"
            ).fetchall()
        )
        outlier = c.execute(
            "SELECT b.batch_id, b.warnings FROM audit.ingest_batches b WHERE b.file_name = ?", [cal["outlier"]]
        ).fetchone()
        vol = c.execute(
            "SELECT status FROM audit.dq_results WHERE batch_id = ? AND expectation = 'encounters.volume'",
            [outlier[0]],
        ).fetchone()
    assert got == {d["path"]: d["received_at"] for d in cal["deliveries"]}
    county, month = out.stem.split("_")[2], out.stem.split("_")[1]
    assert vol == ("failed",)
    assert f"{county} {month}: {_rows(out):,} encounters" in outlier[1] and "below its usual" in outlier[1]
