"""Dashboard speed per page view, server-side, through the real Dash app.

    .venv/bin/python benchmarks/bench_dashboard.py --home /path/to/MEDCOM_HOME [-n 30] [--scope county:411025]
    MEDCOM_DASHBOARD_CACHE=0 .venv/bin/python benchmarks/bench_dashboard.py ...   # without the query cache

With sign-in, the script signs in through /login as `bench-all` (admin) or, for `--scope
county:<code>`, `bench-county-<code>` (a county user), users it creates in MEDCOM_HOME (or gives a
new random password) for the run.

Renders each view (scorecard city / county / community, KPI detail, fund, supervision, quality,
SQL page, closes) the way a browser does: Flask's test client POSTs the Dash Pages router
callback and the header callback for the view's URL (`benchmarks/dash_views.py`), checking each
answers 200 with a page body. Per view it prints: "first" = its first render in a fresh process
(imports, first reads of the file); "cold" = its first render after the caches are emptied in the
warm process (what the first viewer of a new snapshot waits); then p50 / p95 of `-n` more renders,
in wall and CPU milliseconds (CPU = this process's user +
system time, DuckDB's threads included), and the machine's load average, which matters on a
shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from dash_views import bench_user, client_for, has_sign_in, payloads, views  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True, help="MEDCOM_HOME with a published snapshot")
    ap.add_argument("-n", type=int, default=30, help="renders per view after the cold one")
    ap.add_argument("--scope", default="", help="level:code of a scoped viewer (default: the whole warehouse)")
    ap.add_argument("--only", nargs="*", help="view names to run")
    args = ap.parse_args()
    os.environ["MEDCOM_HOME"] = str(args.home.resolve())

    import warehouse
    from dashboards.app import create_app

    snap = warehouse.current_snapshot()
    if snap is None:
        raise SystemExit(f"no published snapshot under {args.home}")
    app = create_app()
    if has_sign_in(app):  # signed in as a benchmark user of that scope
        user = bench_user(args.scope)
    else:  # before sign-in: the instance alias of a county scope
        user = None
        level, _, code = args.scope.partition(":")
        if code and level != "county":
            raise SystemExit("--scope: only county:<code> without sign-in (MEDCOM_DASHBOARD_COUNTY)")
        if code:
            os.environ["MEDCOM_DASHBOARD_COUNTY"] = code
    client = client_for(app, user)
    cache = os.environ.get("MEDCOM_DASHBOARD_CACHE", "1")
    published = args.home.resolve() / "published"
    print(
        f"{machine()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; snapshot {snap.relative_to(published)}; "
        f"scope {args.scope or 'all'}; cache {'off' if cache == '0' else 'on'}; {args.n} renders per view",
        flush=True,
    )
    todo = {k: v for k, v in views(str(snap)).items() if not args.only or k in args.only}

    def render(name: str, path: str, search: str) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        for body in payloads(path, search):
            r = client.post("/_dash-update-component", json=body)
            if r.status_code != 200:
                raise SystemExit(f"{name}: HTTP {r.status_code}: {r.get_data(as_text=True)[:300]}")
            text = r.get_data(as_text=True)
            if any(x in text for x in ("page-error", "no-warehouse", "not-permitted")):
                raise SystemExit(f"{name}: the page says it failed: {text[:300]}")
        return (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000

    first = {name: render(name, *url)[0] for name, url in todo.items()}  # a fresh process: imports, first reads
    try:
        from dashboards.queries import cache as query_cache
    except ImportError:  # code without the cache (a before-measurement)
        query_cache = None
    if query_cache is not None:
        query_cache.clear()  # cold = the first view of a snapshot nobody has read yet, in a warm process
    print(f"{'view':22} {'first ms':>8} {'cold ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'cpu p50':>8} {'cpu p95':>8}")
    all_wall, all_cpu = [], []
    for name, (path, search) in todo.items():
        walls, cpus = [], []
        for _ in range(args.n + 1):
            w, c = render(name, path, search)
            walls.append(w)
            cpus.append(c)
        cold, walls, cpus = walls[0], walls[1:], cpus[1:]
        all_wall += walls
        all_cpu += cpus
        print(
            f"{name:22} {first[name]:8.0f} {cold:8.0f} {statistics.median(walls):7.1f} {pct(walls, 95):7.1f} "
            f"{statistics.median(cpus):8.1f} {pct(cpus, 95):8.1f}",
            flush=True,
        )
    print(
        f"{'all views':22} {'':8} {'':8} {statistics.median(all_wall):7.1f} {pct(all_wall, 95):7.1f} "
        f"{statistics.median(all_cpu):8.1f} {pct(all_cpu, 95):8.1f}"
    )
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
