"""Helpers shared by the benchmark scripts: run a medcom command and measure it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
PR_SET_CHILD_SUBREAPER = 36


def run(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS of the children in MB so far)."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.perf_counter()
    subprocess.run(args, env=e, check=True)
    secs = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, peak_kb / 1024


@dataclass
class Measured:
    wall_s: float
    cpu_s: float  # user + sys of the whole process tree (medcom, the dbt child, Spark's JVM)
    peak_mb: float  # largest sum of RSS over the process tree, sampled every 0.2 s


def _subreaper() -> None:
    """Make this process the reaper of its orphaned descendants (Linux), so that a process whose
    parent exits without waiting for it (Spark's JVM after the dbt child) is still waited for
    here and its CPU time lands in RUSAGE_CHILDREN."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


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


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cmd: list[str], env: dict | None = None, quiet: bool = True) -> Measured:
    """Run cmd to the end (and every process it left behind); wall s, CPU s, peak tree RSS MB.
    With quiet, its output is hidden and the last lines of its stderr are shown when it fails
    (SystemExit with the command and its exit code)."""
    _subreaper()
    e = dict(os.environ)
    e.update(env or {})
    with tempfile.TemporaryFile() as err:
        cpu0, t0 = _cpu_children(), time.perf_counter()
        proc = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL if quiet else None, stderr=err if quiet else None)
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
        while True:  # orphans adopted by the subreaper (the JVM shutting down after dbt)
            try:
                os.wait()
            except ChildProcessError:
                break
        wall = time.perf_counter() - t0
        done.set()
        t.join()
        if code != 0:
            err.seek(0)
            tail = "".join(f"\n  {line}" for line in err.read().decode("utf-8", "replace").splitlines()[-3:])
            raise SystemExit(f"{' '.join(Path(c).name for c in cmd[:3])} failed with exit code {code}{tail}")
    return Measured(wall, _cpu_children() - cpu0, peak)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def medcom(*args: str) -> list[str]:
    return [str(BIN / "medcom"), *args]


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
