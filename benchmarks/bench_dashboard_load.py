"""Dashboard load test: locust users against gunicorn on 127.0.0.1, bounded in users and time.

    .venv/bin/python benchmarks/bench_dashboard_load.py --home /path/to/MEDCOM_HOME \
        [--users 20] [--seconds 60] [--workers 2] [--threads 4]

Starts `gunicorn 'dashboards.wsgi:server' --workers W --threads T --timeout 60` (the settings of
docs/dashboard.md) on a free local port, runs `locust --headless` with `--users` users spawned at
once, measuring for `--seconds` from the moment every user has signed in and loaded the shell
(benchmarks/locustfile.py: each user views the pages of
benchmarks/dash_views.py at random, two callback POSTs per view, no think time), stops gunicorn and
prints: requests, requests/s, views/s, p50 / p95 / p99 ms, failures, and the CPU milliseconds
gunicorn's workers spent per request. The first requests after the start are cold (a fresh
process, nothing cached); they are included. With sign-in, each locust user first signs in through
`/login` (CSRF token, session cookie) as the benchmark user (`benchmarks/dash_views.bench_user`).
Locust runs on the same machine and takes CPU from
the server; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import BIN, machine  # noqa: E402
from dash_views import bench_user, has_sign_in, views  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children that have been waited for (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--scope", default="", help="county:<code>: the users sign in as a county user (with sign-in)")
    args = ap.parse_args()
    home = args.home.resolve()
    env = dict(os.environ, MEDCOM_HOME=str(home))
    import warehouse  # noqa: F401 - settings come from MEDCOM_HOME

    os.environ["MEDCOM_HOME"] = str(home)
    snap = warehouse.current_snapshot()
    if snap is None:
        raise SystemExit(f"no published snapshot under {home}")
    env["MEDCOM_BENCH_VIEWS"] = json.dumps(views(str(snap)))
    env["MEDCOM_BENCH_USERS"], env["MEDCOM_BENCH_SECONDS"] = str(args.users), str(args.seconds)
    from dashboards.app import create_app

    if has_sign_in(create_app()):  # every locust user signs in as the benchmark's admin (or county) user
        env["MEDCOM_BENCH_USER"], env["MEDCOM_BENCH_PASSWORD"] = bench_user(args.scope)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gunicorn = [
        str(BIN / "gunicorn"),
        "dashboards.wsgi:server",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--timeout",
        "60",
    ]
    cache = "off" if env.get("MEDCOM_DASHBOARD_CACHE") == "0" else "on"
    print(
        f"{machine()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"gunicorn {args.workers} workers x {args.threads} threads; {args.users} users for {args.seconds} s; "
        f"cache {cache}",
        flush=True,
    )
    server = subprocess.Popen(gunicorn, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(url, server)
        workers = children(server.pid)
        cpu0 = {w: cpu_seconds(w) for w in workers}
        with tempfile.TemporaryDirectory() as tmp:
            prefix = os.path.join(tmp, "load")
            subprocess.run(
                [
                    str(BIN / "locust"),
                    "-f",
                    str(HERE / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(args.users),
                    "--spawn-rate",
                    str(args.users),
                    "--run-time",  # an upper bound: the window is --seconds after every user is ready
                    f"{args.seconds + 300}s",
                    "--host",
                    url,
                    "--csv",
                    prefix,
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                env=env,
                check=False,
                stdout=subprocess.DEVNULL,
            )
            cpu = sum(cpu_seconds(w) - cpu0[w] for w in workers if Path(f"/proc/{w}").exists())
            with open(prefix + "_stats.csv", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    total = next(r for r in rows if r["Name"] == "Aggregated")
    calls = [r for r in rows if r["Name"].endswith((":page", ":header"))]
    n = int(total["Request Count"])
    n_calls = sum(int(r["Request Count"]) for r in calls)
    print(f"{'request':28} {'count':>6} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for r in sorted(rows, key=lambda r: r["Name"]):
        if r["Name"] == "Aggregated" or r["Request Count"] == "0":  # sign-in and shell: before the window
            continue
        print(
            f"{r['Name']:28} {r['Request Count']:>6} {r['Failure Count']:>5} {r['50%']:>7} {r['95%']:>7} {r['99%']:>7}"
        )
    print(
        f"TOTAL: {n} requests, {float(total['Requests/s']):.1f} requests/s, "
        f"{float(total['Requests/s']) * n_calls / max(n, 1) / 2:.1f} views/s, p50 {total['50%']} ms, p95 {total['95%']} ms, "
        f"p99 {total['99%']} ms, {total['Failure Count']} failures; "
        f"gunicorn workers' CPU {cpu * 1000 / max(n, 1):.1f} ms per request"
    )
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
