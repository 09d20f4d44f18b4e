"""Build speed: `medcom build` for a city-year at --scale 1.0, next to one hand-written query.

    .venv/bin/python benchmarks/bench_build.py --scale 1.0 [--work /tmp/medcom-bench-build] [--reuse]

Generates 12 months at the given scale, ingests them (timed too), runs `medcom build` (dbt:
seeds, every model, every data and unit test, publish), then times a single hand-written
DuckDB query that computes the family-A ratios (county × month: in-county visit and inpatient
rates, primary-care visit share) straight from the loaded raw encounters — the floor that the
full, tested, portable dbt build is paying for.
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

FAMILY_A = """
with enc as (
    select e.*, substr(e.insured_township_code, 1, 6) as insured_county,
           date_trunc('month', case when e.encounter_type = 'inpatient' then e.discharge_date else e.visit_date end) as month,
           f.county_code as fac_county, f.tier
    from raw.encounters e
    left join (select * from raw.facilities where _superseded_by is null) f using (facility_id)
    where e._superseded_by is null
)
select insured_county as county, month,
       count(*) filter (where fac_county = insured_county) / count(*) as in_county_visit_rate,
       count(*) filter (where encounter_type = 'inpatient' and fac_county = insured_county)
         / nullif(count(*) filter (where encounter_type = 'inpatient'), 0) as in_county_inpatient_rate
from enc group by all
union all by name
select fac_county as county, month,
       count(*) filter (where tier in ('township', 'village', 'clinic')) / count(*) as primary_care_visit_share
from enc where encounter_type <> 'inpatient' and tier is not null group by all
"""


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env)
    if p.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:2])} failed with {p.returncode}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--start", default="2021-01")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-build"))
    ap.add_argument("--reuse", action="store_true", help="reuse an already ingested warehouse in --work")
    args = ap.parse_args()
    work: Path = args.work
    inbox, home = work / "inbox", work / "home"
    env = dict(os.environ, MEDCOM_HOME=str(home), MEDCOM_SECRET="bench")
    if not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
        s = timed(
            medcom(
                "generate", str(inbox), "--start", args.start, "--months", str(args.months), "--scale", str(args.scale)
            ),
            env,
        )
        print(f"generate {args.months} months at scale {args.scale}: {s:.0f} s", flush=True)
        s = timed(medcom("ingest", str(inbox)), env)
        print(f"ingest: {s:.0f} s", flush=True)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    n = con.execute("select count(*) from raw.encounters where _superseded_by is null").fetchone()[0]
    con.close()
    s_build = timed(medcom("build"), env)
    print(
        f"medcom build (dbt build: seeds, models, data + unit tests, publish) over {n:,} encounters: {s_build:.0f} s",
        flush=True,
    )
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    t0 = time.perf_counter()
    rows = con.execute(FAMILY_A).fetchall()
    s_q = time.perf_counter() - t0
    print(f"hand-written DuckDB family-A query ({len(rows)} county-month rows): {s_q:.1f} s")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
