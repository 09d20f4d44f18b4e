"""Publishing cost: today's byte copy of the warehouse vs a readers' snapshot without the raw history.

    .venv/bin/python benchmarks/bench_publish.py --home /path/to/MEDCOM_HOME [--work /tmp/medcom-bench-publish]

Reads the home's writer file (`warehouse.duckdb`, read-only; nothing under the home is changed) and
prints:
1. its size and row counts per schema (what the raw history weighs);
2. the time of today's publish step — a byte copy of the whole file (`warehouse._copy_with_progress`)
   into `--work`;
3. the time and size of the candidate design of issue 10 goal 4: a new snapshot file holding only
   the tables readers of the dashboard need (`marts` without the per-encounter fact, `audit`,
   `closed`), written with `CREATE TABLE … AS SELECT` from the attached writer file — the part of
   the publish whose cost does not grow with the raw history; the per-encounter tables (`raw.*`,
   `staging` views, `intermediate`, `marts.fct_encounters`) would be read elsewhere (the lake).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

READER_SCHEMAS = ("marts", "audit", "closed")
HISTORY_TABLES = {("marts", "fct_encounters")}


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-publish"))
    args = ap.parse_args()
    os.environ["MEDCOM_HOME"] = str(args.home.resolve())
    import duckdb

    import warehouse
    from medcom.settings import paths

    src = paths().warehouse
    if not src.exists():
        raise SystemExit(f"no warehouse under {args.home}")
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    print(f"{machine()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {src} {mb(src.stat().st_size)}")

    con = duckdb.connect(str(src), read_only=True)
    tables = con.execute(
        "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
        "WHERE database_name = current_database() ORDER BY schema_name, table_name"
    ).fetchall()
    con.close()
    per_schema: dict[str, int] = {}
    for s, _, n in tables:
        per_schema[s] = per_schema.get(s, 0) + (n or 0)
    print("rows per schema: " + ", ".join(f"{s} {n:,}" for s, n in sorted(per_schema.items())))

    t0 = time.perf_counter()
    warehouse._copy_with_progress(src, args.work / "copy.duckdb")
    copy_s = time.perf_counter() - t0
    print(
        f"today: byte copy of the whole file: {copy_s:.1f} s, snapshot {mb((args.work / 'copy.duckdb').stat().st_size)}"
    )
    (args.work / "copy.duckdb").unlink()

    dest = args.work / "readers.duckdb"
    t0 = time.perf_counter()
    out = duckdb.connect(str(dest))
    out.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
    n_rows = 0
    picked = [(s, t) for s, t, _ in tables if s in READER_SCHEMAS and (s, t) not in HISTORY_TABLES]
    for s, t in picked:
        out.execute(f'CREATE SCHEMA IF NOT EXISTS "{s}"')
        out.execute(f'CREATE TABLE "{s}"."{t}" AS SELECT * FROM src."{s}"."{t}"')
    n_rows = sum(n or 0 for s, t, n in tables if (s, t) in set(picked))
    out.execute("DETACH src")
    out.close()
    sel_s = time.perf_counter() - t0
    print(
        f"candidate: {len(picked)} reader tables ({', '.join(READER_SCHEMAS)} without "
        f"{', '.join('.'.join(x) for x in sorted(HISTORY_TABLES))}; {n_rows:,} rows): {sel_s:.1f} s, "
        f"snapshot {mb(dest.stat().st_size)}"
    )
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
