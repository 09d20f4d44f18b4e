"""Province cost curve: ingest and build time as cities are added (N = 2, 4, 8 by default).

    .venv/bin/python benchmarks/bench_province.py [--cities 2 4 8] [--months 3] [--scale 0.02]
        [--engines duckdb spark] [--work /tmp/medcom-bench-province] [--keep]

For each N: `medcom generate --cities N` (河南省: 许昌市 and N−1 other Henan prefectures, each
at --scale), then one `medcom ingest` of the whole province (warehouse + lake) and one full
`medcom build` per engine (every model, data and unit test, publish) from that same
MEDCOM_HOME, each timed. Prints one line per N and engine with wall seconds, CPU seconds
(user + sys of the command's whole process tree: medcom, the dbt child, Spark's JVM; far
less distorted by other load on a shared machine than wall time), peak RSS of the tree, and
the cost per city-year (N × months / 12), so the curve is measured rather than assumed.
The KPI row counts are read from the snapshot each build published.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, measure, medcom  # noqa: E402


def _count(home: Path, sql: str) -> int:
    p = home / "published" / (home / "published" / "CURRENT").read_text().strip()
    with duckdb.connect(str(p / "warehouse.duckdb" if p.is_dir() else p), read_only=True) as c:
        return int(c.execute(sql).fetchone()[0])


def one(n: int, args, work: Path, emit) -> list[dict]:
    out, home = work / f"inbox-{n}", work / f"home-{n}"
    for p in (out, home):
        shutil.rmtree(p, ignore_errors=True)
    env = {"MEDCOM_HOME": str(home), "MEDCOM_SECRET": "bench-secret", "MEDCOM_AS_OF_DATE": args.as_of}
    gen = [f"--cities={n}", f"--months={args.months}", f"--scale={args.scale}", f"--start={args.start}", "--seed=42"]
    g = measure(medcom("generate", str(out), *gen), env)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    ing = measure(medcom("ingest", str(out)), env)
    enc = _count(home, "SELECT count(*) FROM raw.encounters WHERE _superseded_by IS NULL")
    city_years = n * args.months / 12
    rows = []
    for engine in args.engines:
        b = measure(medcom("build", f"--engine={engine}"), env)
        rows.append(
            {
                "cities": n,
                "engine": engine,
                "files": files,
                "encounters": enc,
                "kpi_rows": _count(home, "SELECT count(*) FROM marts.kpi_values"),
                "province_rows": _count(home, "SELECT count(*) FROM marts.kpi_values WHERE org_level = 'province'"),
                "generate_s": round(g.wall_s, 1),
                "ingest_s": round(ing.wall_s, 1),
                "ingest_cpu_s": round(ing.cpu_s, 1),
                "ingest_peak_mb": round(ing.peak_mb),
                "build_s": round(b.wall_s, 1),
                "build_cpu_s": round(b.cpu_s, 1),
                "build_peak_mb": round(b.peak_mb),
                "ingest_s_per_city_year": round(ing.wall_s / city_years, 1),
                "ingest_cpu_s_per_city_year": round(ing.cpu_s / city_years, 1),
                "build_s_per_city_year": round(b.wall_s / city_years, 1),
                "build_cpu_s_per_city_year": round(b.cpu_s / city_years, 1),
                "load_after": load(),
            }
        )
        emit(rows[-1])  # printed as soon as it is measured
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return rows


COLUMNS = (
    ("cities", "cities"),
    ("engine", "engine"),
    ("files", "files"),
    ("encounters", "encounters"),
    ("kpi_rows", "kpi_values rows"),
    ("province_rows", "province rows"),
    ("ingest_s", "ingest s"),
    ("ingest_cpu_s", "ingest CPU s"),
    ("ingest_peak_mb", "ingest peak MB"),
    ("build_s", "build s"),
    ("build_cpu_s", "build CPU s"),
    ("build_peak_mb", "build peak MB"),
    ("ingest_cpu_s_per_city_year", "ingest CPU s / city-year"),
    ("build_cpu_s_per_city_year", "build CPU s / city-year"),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cities", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.02, help="scale of each city (1.0 = reference city)")
    ap.add_argument("--start", default="2020-01")
    ap.add_argument("--as-of", default="2020-12-31", help="MEDCOM_AS_OF_DATE of the builds")
    ap.add_argument("--engines", nargs="+", default=["duckdb"], choices=["duckdb", "spark"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-province"))
    ap.add_argument("--keep", action="store_true", help="keep the inboxes and homes")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(
        f"# {machine()}; engines {' '.join(args.engines)}; {args.months} months from {args.start} "
        f"at scale {args.scale} per city; {load()}",
        flush=True,
    )
    print("| " + " | ".join(h for _, h in COLUMNS) + " |", flush=True)
    print("|" + "---|" * len(COLUMNS), flush=True)
    results = []

    def emit(r: dict) -> None:
        results.append(r)
        print("| " + " | ".join(f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k, _ in COLUMNS) + " |")
        print(f"# {r['load_after']}", flush=True)

    for n in args.cities:
        one(n, args, args.work, emit)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
