"""Benchmark the synthetic generator: rows/s and peak RSS.

    .venv/bin/python benchmarks/bench_generate.py [--scale 1.0] [--months 1] [--out DIR] [--keep]

Prints one line per measurement (no assertions).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from medcom.generate import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--months", type=int, default=1)
    ap.add_argument("--start", default="2020-01")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    ap.add_argument("--quiet", action="store_true", help="no per-file progress lines")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="medcom-bench-"))
    try:
        t0 = time.perf_counter()
        s = generate(
            out,
            start=args.start,
            months=args.months,
            scale=args.scale,
            seed=args.seed,
            bad_corpus=False,
            quiet=args.quiet,
        )
        el = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
        print(
            f"generate scale={args.scale} months={args.months}: {s['encounters']:,} encounters, "
            f"{s['rows']:,} rows in {s['files']} files, {size / 1e6:,.0f} MB, {el:.1f} s, "
            f"{s['rows'] / el:,.0f} rows/s ({s['encounters'] / el:,.0f} encounters/s), peak RSS {rss_mb:,.0f} MB"
        )
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
