"""Incremental build: `medcom build` after one more month vs `medcom build --full`, same warehouse.

    .venv/bin/python benchmarks/bench_incremental.py --scale 0.25 [--months 12] [--work DIR] [--reuse]

Generates N months at the given scale (a city-year by default) and splits the inbox: the files of
the last month (names with YYYY-MM of it: encounters, phs_services, phs_funds, workforce) go to a
second inbox. Ingests the first N−1 months and builds (a full build: no earlier state), ingests the
last month, then times `medcom build` (incremental: only the new month of the incremental models,
the nodes the new batches touch, no unit tests) and `medcom build --full` on the same warehouse,
and checks that the two published `marts.kpi_values` are identical (every column, EXCEPT ALL both
ways). Prints wall and CPU seconds (user + system of the build's process tree) per build: the
machine is shared, CPU seconds are the steadier figure. --reuse keeps DIR's generated inboxes and
first ingest (restored from DIR/warehouse-first.duckdb). --remeasure reuses DIR/home as a run
left it: the last month's batches are marked as not built (audit.build_batches), so the timed
incremental build deletes and re-inserts that month, then --full again.
"""

from __future__ import annotations

import argparse
import datetime as dt
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


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], env: dict, label: str) -> tuple[float, float, str]:
    t0, c0 = time.perf_counter(), cpu_children()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, cpu_children() - c0
    if p.returncode != 0:
        raise SystemExit(f"{label} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    summary = next((line for line in p.stdout.splitlines() if line.startswith("build ok")), p.stdout.strip()[-200:])
    print(f"{label}: wall {wall:.1f} s, CPU {cpu:.1f} s — {summary}", flush=True)
    return wall, cpu, summary


def split_last_month(inbox: Path, later: Path, month: str) -> int:
    n = 0
    for f in sorted(inbox.rglob("*")):
        if f.is_file() and month in f.name:
            dest = later / f.relative_to(inbox)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(f), dest)
            n += 1
    return n


def snapshot(home: Path) -> Path:
    return home / "published" / (home / "published" / "CURRENT").read_text().strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--start", default="2021-01")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-incremental"))
    ap.add_argument("--reuse", action="store_true", help="reuse DIR's inboxes and first ingest")
    ap.add_argument("--remeasure", action="store_true", help="time the last two builds again on DIR/home")
    args = ap.parse_args()
    work: Path = args.work
    first, later, home = work / "inbox-first", work / "inbox-last-month", work / "home"
    start = dt.date.fromisoformat(args.start + "-01")
    y, m = divmod(start.month - 1 + args.months - 1, 12)
    last = f"{start.year + y}-{m + 1:02d}"
    as_of = dt.date(start.year + y + (m + 1) // 12, (m + 1) % 12 + 1, 15).isoformat()
    env = dict(os.environ, MEDCOM_HOME=str(home), MEDCOM_SECRET="bench", MEDCOM_AS_OF_DATE=as_of)
    saved = work / "warehouse-first.duckdb"
    if args.remeasure:
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            n = con.execute(
                "DELETE FROM audit.build_batches WHERE batch_id IN "
                "(SELECT batch_id FROM audit.ingest_batches WHERE file_name LIKE ?)",
                [f"%{last}%"],
            ).fetchone()[0]
        print(f"{n} batches of {last} marked as not built", flush=True)
    elif not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
        gen = ["generate", str(first), "--start", args.start, "--months", str(args.months), "--scale", str(args.scale)]
        subprocess.run(medcom(*gen), env=env, check=True, capture_output=True)
        moved = split_last_month(first, later, last)
        print(f"generated {args.months} months at scale {args.scale}; {moved} files of {last} held back", flush=True)
        t0 = time.perf_counter()
        subprocess.run(medcom("ingest", str(first)), env=env, check=True, capture_output=True)
        print(f"ingest of the first {args.months - 1} months: {time.perf_counter() - t0:.0f} s", flush=True)
        shutil.copyfile(home / "warehouse.duckdb", saved)
    else:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        shutil.copyfile(saved, home / "warehouse.duckdb")
    if not args.remeasure:
        timed(medcom("build"), env, f"build of {args.months - 1} months (first build: full)")
        t0 = time.perf_counter()
        subprocess.run(medcom("ingest", str(later)), env=env, check=True, capture_output=True)
        print(f"ingest of {last}: {time.perf_counter() - t0:.0f} s", flush=True)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        n = con.execute("select count(*) from raw.encounters where _superseded_by is null").fetchone()[0]
    print(f"current encounters: {n:,}", flush=True)
    inc_wall, inc_cpu, _ = timed(medcom("build"), env, f"medcom build after {last} (incremental)")
    inc = work / "kpi-incremental.duckdb"
    shutil.copyfile(snapshot(home), inc)
    full_wall, full_cpu, _ = timed(medcom("build", "--full"), env, "medcom build --full")
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{inc}' AS i (READ_ONLY)")
        con.execute(f"ATTACH '{snapshot(home)}' AS f (READ_ONLY)")
        rows = con.execute("select count(*) from f.marts.kpi_values").fetchone()[0]
        exact = con.execute(
            "select (select count(*) from (from i.marts.kpi_values except all from f.marts.kpi_values)) + "
            "(select count(*) from (from f.marts.kpi_values except all from i.marts.kpi_values))"
        ).fetchone()[0]
        # as tests/test_incremental.py: statuses, targets and values to 9 decimals (the status rule's
        # rounding); numerators and denominators to 1e-12 relative (DOUBLE sums in another order)
        cols = "kpi_code, org_level, org_id, period_type, period, round(value, 9), round(target, 9), direction, status"
        diff = con.execute(
            f"select (select count(*) from (select {cols} from i.marts.kpi_values except all "
            f"select {cols} from f.marts.kpi_values)) + (select count(*) from (select {cols} from f.marts.kpi_values "
            f"except all select {cols} from i.marts.kpi_values))"
        ).fetchone()[0]
        diff += con.execute(
            "select count(*) from i.marts.kpi_values x join f.marts.kpi_values y "
            "using (kpi_code, org_level, org_id, period_type, period) "
            "where abs(x.numerator - y.numerator) > 1e-12 * greatest(abs(x.numerator), 1) "
            "or abs(x.denominator - y.denominator) > 1e-12 * greatest(abs(x.denominator), 1)"
        ).fetchone()[0]
    verdict = "identical" if diff == 0 else f"{diff} rows DIFFER"
    print(
        f"kpi_values: {rows:,} rows, {verdict} (incremental vs full; {exact} rows differ in the last bits of a DOUBLE)"
    )
    print(
        f"incremental / full: wall {inc_wall / full_wall:.0%} ({inc_wall:.1f} / {full_wall:.1f} s), "
        f"CPU {inc_cpu / full_cpu:.0%} ({inc_cpu:.1f} / {full_cpu:.1f} s)"
    )
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    if diff:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
