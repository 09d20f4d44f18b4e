"""Build time and peak memory of `medcom build` on DuckDB and on Spark local mode.

    .venv/bin/python benchmarks/bench_engines.py [--scale 1.0] [--copies 1 2 4] [--work /tmp/medcom-bench-engines]

The workload unit is one city-month: one month of the generated city at --scale (1.0 =
reference scale, ~2M encounters a month). "k copies" = k consecutive city-months generated,
ingested (warehouse + lake) and built on each engine (ingest time includes writing the lake). Peak memory is the largest
sum of the RSS of the build's whole process tree (medcom, the dbt child, Spark's JVM),
sampled every 0.2 s. Spark runs in local mode (`local[2]`, driver memory 2g) on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, medcom  # noqa: E402


def _tree_rss_mb(root: int) -> float:
    """Sum of VmRSS over `root` and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/status") as fh:
                kb = next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, StopIteration):
            continue
        parents[int(d)] = ppid
        rss[int(d)] = kb
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree) / 1024


def measured(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run cmd; (wall seconds, peak RSS of its process tree in MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    code = proc.wait()
    done.set()
    t.join()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[1:3])} failed with exit code {code}")
    return time.perf_counter() - t0, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--start", default="2021-01")
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/medcom-bench-engines"))
    args = ap.parse_args()
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    env = dict(os.environ, MEDCOM_SECRET="bench", MEDCOM_AS_OF_DATE="2021-12-31")
    print(f"machine: {machine()}; scale {args.scale}; one copy = one city-month", flush=True)
    print("| copies | encounters | ingest s | engine | build s | peak RSS MB |", flush=True)
    print("|---|---|---|---|---|---|", flush=True)
    for k in args.copies:
        inbox, home = work / f"inbox-{k}", work / f"home-{k}"
        e = dict(env, MEDCOM_HOME=str(home))
        gen = medcom("generate", str(inbox), "--start", args.start, "--months", str(k), "--scale", str(args.scale))
        subprocess.run(gen, env=e, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        secs, _ = measured(medcom("ingest", str(inbox)), e)
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
            n = c.execute("select count(*) from raw.encounters where _superseded_by is null").fetchone()[0]
        for engine in args.engines:
            b, peak = measured(medcom("build", "--engine", engine), e)
            print(f"| {k} | {n:,} | {secs:.0f} | {engine} | {b:.0f} | {peak:,.0f} |", flush=True)
        shutil.rmtree(inbox, ignore_errors=True)


if __name__ == "__main__":
    main()
