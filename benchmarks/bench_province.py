"""Province cost curve: ingest and build time as cities are added (N = 2, 4, 8 by default).

    .venv/bin/python benchmarks/bench_province.py [--cities 2 4 8] [--months 3] [--scale 0.02]
        [--engine duckdb] [--work /tmp/medcom-bench-province] [--keep]

For each N: `medcom generate --cities N` (河南省: 许昌市 and N−1 other Henan prefectures), then
one `medcom ingest` of the whole province and one full `medcom build` into a fresh
MEDCOM_HOME, each timed. Prints one line per N and the cost per city-year
(N × months / 12), so the curve is measured rather than assumed. `--engine` is passed to
`medcom build` when it is not the default (the Spark engine, where installed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, medcom, run  # noqa: E402


def _count(home: Path, sql: str) -> int:
    p = home / "published" / (home / "published" / "CURRENT").read_text().strip()
    with duckdb.connect(str(p / "warehouse.duckdb" if p.is_dir() else p), read_only=True) as c:
        return int(c.execute(sql).fetchone()[0])


def one(n: int, args, work: Path) -> dict:
    out, home = work / f"inbox-{n}", work / f"home-{n}"
    for p in (out, home):
        shutil.rmtree(p, ignore_errors=True)
    env = {"MEDCOM_HOME": str(home), "MEDCOM_SECRET": "bench-secret"}
    gen = [f"--cities={n}", f"--months={args.months}", f"--scale={args.scale}", f"--start={args.start}", "--seed=42"]
    t_gen, _ = run(medcom("generate", str(out), *gen), env)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    t_ing, _ = run(medcom("ingest", str(out)), env)
    build = ["build"] + ([f"--engine={args.engine}"] if args.engine != "duckdb" else [])
    t_bld, peak = run(medcom(*build), env)
    enc = _count(home, "SELECT count(*) FROM raw.encounters WHERE _superseded_by IS NULL")
    kpi = _count(home, "SELECT count(*) FROM marts.kpi_values")
    prov = _count(home, "SELECT count(*) FROM marts.kpi_values WHERE org_level = 'province'")
    city_years = n * args.months / 12
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return {
        "cities": n,
        "files": files,
        "encounters": enc,
        "kpi_rows": kpi,
        "province_rows": prov,
        "generate_s": round(t_gen, 1),
        "ingest_s": round(t_ing, 1),
        "build_s": round(t_bld, 1),
        "ingest_s_per_city_year": round(t_ing / city_years, 1),
        "build_s_per_city_year": round(t_bld / city_years, 1),
        "peak_rss_mb": round(peak),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cities", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--start", default="2020-01")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-province"))
    ap.add_argument("--keep", action="store_true", help="keep the inboxes and homes")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"# {machine()}; engine {args.engine}; {args.months} months from {args.start} at scale {args.scale}")
    print("cities  files  encounters  kpi_rows  ingest_s  build_s  ingest_s/city-year  build_s/city-year")
    results = []
    for n in args.cities:
        r = one(n, args, args.work)
        results.append(r)
        print(
            f"{r['cities']:>6}  {r['files']:>5}  {r['encounters']:>10,}  {r['kpi_rows']:>8,}  {r['ingest_s']:>8}  "
            f"{r['build_s']:>7}  {r['ingest_s_per_city_year']:>18}  {r['build_s_per_city_year']:>17}",
            flush=True,
        )
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
