"""Build time and peak memory of `medcom build` on DuckDB and on Spark local mode.

    .venv/bin/python benchmarks/bench_engines.py [--scale 1.0] [--copies 1 2 4] [--work /tmp/medcom-bench-engines]

The workload unit is one city-month: one month of the generated city at --scale (1.0 =
reference scale, ~2M encounters a month). "k copies" = k consecutive city-months generated,
ingested (warehouse + lake) and built on each engine (ingest time includes writing the lake). Peak memory is the largest
sum of the RSS of the build's whole process tree (medcom, the dbt child, Spark's JVM),
sampled every 0.2 s; CPU s is user + sys of that tree (RUSAGE_CHILDREN, with this script as
subreaper so the JVM is counted), which other load on a shared machine distorts far less than
wall time. Spark runs in local mode (`local[2]`, driver memory 2g) on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, measure, medcom  # noqa: E402


def published_count(home: Path, sql: str) -> int:
    """A count from the snapshot readers see (the last publish)."""
    p = home / "published" / (home / "published" / "CURRENT").read_text().strip()
    with duckdb.connect(str(p / "warehouse.duckdb" if p.is_dir() else p), read_only=True) as c:
        return int(c.execute(sql).fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--start", default="2021-01")
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-engines"))
    ap.add_argument("--keep", action="store_true", help="keep the homes (warehouse, lake, builds)")
    args = ap.parse_args()
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    env = dict(os.environ, MEDCOM_SECRET="bench", MEDCOM_AS_OF_DATE="2021-12-31")
    print(f"# machine: {machine()}; scale {args.scale}; one copy = one city-month; {load()}", flush=True)
    print(
        "| copies | encounters | ingest s | ingest CPU s | engine | build s | build CPU s | peak RSS MB | kpi_values rows |",
        flush=True,
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for k in args.copies:
        inbox, home = work / f"inbox-{k}", work / f"home-{k}"
        e = dict(env, MEDCOM_HOME=str(home))
        gen = medcom("generate", str(inbox), "--start", args.start, "--months", str(k), "--scale", str(args.scale))
        subprocess.run(gen, env=e, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ing = measure(medcom("ingest", str(inbox)), e)
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
            n = c.execute("select count(*) from raw.encounters where _superseded_by is null").fetchone()[0]
        for engine in args.engines:
            b = measure(medcom("build", "--engine", engine), e)
            rows = published_count(home, "select count(*) from marts.kpi_values")
            print(
                f"| {k} | {n:,} | {ing.wall_s:.0f} | {ing.cpu_s:.0f} | {engine} | {b.wall_s:.0f} | {b.cpu_s:.0f} "
                f"| {b.peak_mb:,.0f} | {rows:,} |",
                flush=True,
            )
        print(f"# after {k} copies: {load()}", flush=True)
        shutil.rmtree(inbox, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
