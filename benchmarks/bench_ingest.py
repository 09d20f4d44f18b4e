"""Ingest speed: one city-month of encounters at --scale 1.0, next to a bare DuckDB read_csv.

    .venv/bin/python benchmarks/bench_ingest.py --scale 1.0 [--files utf8|all] [--repeat 1]
        [--history-months 12] [--work /tmp/medcom-bench-ingest] [--reuse]

Generates the month (and `--history-months` before it), ingests the registry, the other
feeds and the history (untimed), then times, each in its own child process and from the same
starting warehouse:

- `medcom ingest` of the month's encounter files (`--files utf8`: the UTF-8 CSV files — 6 of
  the reference city's 8; `all`: also the GB18030 CSV and the Parquet file);
- a bare DuckDB load of the same files: `CREATE TABLE … AS SELECT * FROM read_csv(…,
  all_varchar=true)` per file into a DuckDB file (GB18030 through DuckDB's `encodings`
  extension, Parquet with read_parquet) — no validation, no archive, no audit.

Prints wall seconds, CPU seconds (user + sys of the child) and peak RSS of each, the ratios
ingest / bare, and the load average: the machine is shared, so compare the two numbers
measured in the same run. With `MEDCOM_INGEST_TIMING=1` set, ingest prints its per-step
timings on stderr. `--reuse` keeps the generated files and the starting warehouse of an
earlier run with the same `--work`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, medcom  # noqa: E402

BARE = r"""
import sys, duckdb, importlib.util
from pathlib import Path
db, files = sys.argv[1], sys.argv[2:]
con = duckdb.connect(db)
ext = Path(importlib.util.find_spec("duckdb_extension_encodings").origin).parent
for p in ext.rglob("encodings.duckdb_extension"):
    con.execute(f"LOAD '{p}'")
for i, f in enumerate(files):
    path, enc = f.rsplit("|", 1)
    if path.endswith(".parquet"):
        src = f"read_parquet('{path}')"
    else:
        src = f"read_csv('{path}', all_varchar=true, header=true, encoding='{enc}')"
    con.execute(f"create table t{i} as select * from {src}")
con.close()
"""


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


def encoding(path: Path) -> str:
    head = path.read_bytes()[: 1 << 16]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start <= (1 << 16) - 4:  # not a character cut at the sample's end
            return "gb18030"
    return "utf-8"


def child(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """Run cmd in a fresh child: wall s, CPU s (user + sys), peak RSS MB."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:2])} failed")
    return secs, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--month", default="2021-03")
    ap.add_argument("--history-months", type=int, default=0)
    ap.add_argument("--files", choices=("utf8", "all"), default="utf8")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-ingest"))
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    work: Path = args.work
    inbox, base, month_dir = work / "inbox", work / "home-base", work / "month" / "encounters"
    env = dict(os.environ, MEDCOM_SECRET="bench")
    if not (args.reuse and base.exists() and month_dir.exists()):
        shutil.rmtree(work, ignore_errors=True)
        y, m = map(int, args.month.split("-"))
        k = y * 12 + m - 1 - args.history_months
        start = f"{k // 12:04d}-{k % 12 + 1:02d}"
        genv = dict(env, MEDCOM_HOME=str(work / "home-gen"))
        gen = medcom("generate", str(inbox), "--start", start, "--months", str(args.history_months + 1))
        secs, _, _ = child([*gen, "--scale", str(args.scale)], genv)
        print(f"generate: {secs:.1f} s")
        month_dir.mkdir(parents=True)
        for p in (inbox / "encounters").iterdir():
            if p.name.startswith(f"encounters_{args.month}_"):
                shutil.move(str(p), month_dir / p.name)
        secs, _, _ = child(medcom("ingest", *map(str, inbox.iterdir())), dict(env, MEDCOM_HOME=str(base)))
        print(f"registry, other feeds and {args.history_months} months of history: {secs:.1f} s")

    files = sorted(p for p in month_dir.iterdir() if p.suffix in (".csv", ".parquet"))
    if args.files == "utf8":
        files = [f for f in files if f.suffix == ".csv" and encoding(f) == "utf-8"]
    timed = work / "timed" / "encounters"
    shutil.rmtree(timed.parent, ignore_errors=True)
    timed.mkdir(parents=True)
    for f in files:
        os.link(f, timed / f.name)
    rows = count_rows(duckdb.connect(), files)
    kinds = ", ".join(f"{f.name.split('_')[-1]} {encoding(f) if f.suffix == '.csv' else 'parquet'}" for f in files)
    print(f"files: {len(files)} ({kinds}); {rows:,} rows; {sum(f.stat().st_size for f in files) / 1e6:,.0f} MB")

    for i in range(args.repeat):
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(base, home)
        la0 = load()
        w, cpu, peak = child(medcom("ingest", str(timed)), dict(env, MEDCOM_HOME=str(home)))
        db = work / "bare.duckdb"
        db.unlink(missing_ok=True)
        bare_args = [f"{f}|{encoding(f) if f.suffix == '.csv' else ''}" for f in files]
        bw, bcpu, bpeak = child([sys.executable, "-c", BARE, str(db), *bare_args], env)
        print(
            f"run {i + 1}: medcom ingest {w:6.1f} s wall, {cpu:6.1f} s CPU, peak RSS {peak:,.0f} MB "
            f"({rows / w:,.0f} rows/s)\n"
            f"       bare duckdb   {bw:6.1f} s wall, {bcpu:6.1f} s CPU, peak RSS {bpeak:,.0f} MB\n"
            f"       ratio ingest / bare: {w / bw:.2f}x wall, {cpu / bcpu:.2f}x CPU "
            f"(load average before {la0}, after {load()})"
        )
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
