"""Ingest speed: one month of encounters at --scale 1.0, next to a bare DuckDB read_csv.

    .venv/bin/python benchmarks/bench_ingest.py --scale 1.0 [--history-months 12] [--work /tmp/bench-ingest]

Prints rows/second and peak memory for `medcom ingest` of the month's encounter files
(after the registry is loaded), and for a bare `CREATE TABLE … AS SELECT * FROM
read_csv(...)` of the same CSV files in DuckDB (no validation, no archive, no audit).
Peak memory of ingest is measured in its own process (ru_maxrss of the child).
With `--history-months N` the N months before are generated and ingested first (untimed), so
the timed month's batch-level expectations compare with a real history.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, medcom  # noqa: E402


def count_rows(con, files: list[Path]) -> int:
    """Data rows (CSV: lines after the header; the generator writes no embedded newlines)."""
    total = 0
    for f in files:
        if f.suffix == ".parquet":
            total += con.execute(f"select count(*) from read_parquet('{f}')").fetchone()[0]
        else:
            with open(f, "rb") as fh:
                total += sum(1 for line in fh if line.strip()) - 1
    return total


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes()[: 1 << 16].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > (1 << 16) - 4  # a character cut at the sample's end
    return True


def peak_child(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run cmd in a fresh child via /usr/bin/time-like accounting: wall s, child peak RSS MB."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{cmd[1]} failed")
    return secs, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--month", default="2021-03")
    ap.add_argument("--history-months", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-ingest"))
    args = ap.parse_args()
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    inbox, home = work / "inbox", work / "home"
    env = dict(os.environ, MEDCOM_HOME=str(home), MEDCOM_SECRET="bench")

    y, m = map(int, args.month.split("-"))
    k = y * 12 + m - 1 - args.history_months
    start = f"{k // 12:04d}-{k % 12 + 1:02d}"
    months = str(args.history_months + 1)
    secs, _ = peak_child(
        medcom("generate", str(inbox), "--start", start, "--months", months, "--scale", str(args.scale)), env
    )
    print(f"generate: {secs:.1f} s")

    # registry and history first, then time the month's encounters alone
    enc_dir = inbox / "encounters"
    hold = work / "hold"
    hold.mkdir(parents=True)
    for p in enc_dir.iterdir():
        if p.name.startswith(f"encounters_{args.month}_"):
            shutil.move(str(p), hold / p.name)
    others = [str(p) for p in inbox.iterdir()]
    secs, _ = peak_child(medcom("ingest", *others), env)
    print(f"registry, other feeds and {args.history_months} months of history: {secs:.1f} s")
    enc_dir = work / "month" / "encounters"
    shutil.move(str(hold), enc_dir)
    enc_files = sorted(p for p in enc_dir.iterdir() if p.suffix in (".csv", ".parquet"))

    con = duckdb.connect()
    rows = count_rows(con, enc_files)
    secs, peak = peak_child(medcom("ingest", str(enc_dir)), env)
    print(
        f"medcom ingest encounters: {rows:,} rows in {secs:.1f} s = {rows / secs:,.0f} rows/s; peak RSS {peak:,.0f} MB"
    )

    # bare DuckDB load of the same files (CSV as text, Parquet as is); DuckDB cannot read
    # GB18030 without its `encodings` extension (a download), so those files are left out.
    bare_files = [f for f in enc_files if f.suffix == ".parquet" or _is_utf8(f)]
    bare_rows = count_rows(con, bare_files)
    db = work / "bare.duckdb"
    t0 = time.perf_counter()
    bare = duckdb.connect(str(db))
    for i, f in enumerate(bare_files):
        src = f"read_parquet('{f}')" if f.suffix == ".parquet" else f"read_csv('{f}', all_varchar=true, header=true)"
        bare.execute(f"create table t{i} as select * from {src}")
    bare.close()
    secs_bare = time.perf_counter() - t0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"bare duckdb read_csv:     {bare_rows:,} rows ({len(bare_files)} of {len(enc_files)} files, GB18030 left out) "
        f"in {secs_bare:.1f} s = {bare_rows / secs_bare:,.0f} rows/s; peak RSS (this process) {peak_self:,.0f} MB"
    )
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
