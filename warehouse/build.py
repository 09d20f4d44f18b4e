"""`medcom build`: run the dbt project (seeds, models, tests) and publish the result.

dbt runs in a child process (`python -m warehouse.dbt_child`) so that dbt-duckdb's
connection is certainly closed before the warehouse file is copied to a snapshot, and so
that its memory is returned. Its structured (JSON) log is turned into one progress line per
node and a one-line summary; the full log stays in MEDCOM_HOME/dbt/logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from medcom.errors import MedcomError
from medcom.settings import paths


class BuildFailed(MedcomError):
    pass


@dataclass
class BuildResult:
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    snapshot: str | None = None


def profiles_dir() -> str:
    """dbt writes `.user.yml` beside profiles.yml: keep both under MEDCOM_HOME, not the package."""
    import shutil

    from dbt_project import PROJECT_DIR

    folder = paths().home / "dbt"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_DIR / "profiles.yml", folder / "profiles.yml")
    return str(folder)


def dbt_args(command: str = "build", extra: list[str] | None = None) -> list[str]:
    """dbt command line (`command` may be two words, e.g. "docs generate")."""
    from dbt_project import PROJECT_DIR

    p = paths()
    return [
        *command.split(),
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        profiles_dir(),
        "--target-path",
        str(p.dbt_target),
        "--log-path",
        str(p.dbt_logs),
        *(extra or []),
    ]


def dbt_env() -> dict[str, str]:
    p = paths()
    env = dict(os.environ)
    env["MEDCOM_DB_PATH"] = str(p.warehouse)
    env["MEDCOM_HOME"] = str(p.home)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["DBT_PARTIAL_PARSE"] = "false" if env.get("MEDCOM_DBT_NO_PARTIAL_PARSE") else "true"
    return env


def prepare_warehouse() -> None:
    """Make sure every raw and audit table exists, so a build before any ingest still works."""
    import warehouse
    from medcom.contract.export import create_raw_tables

    con = warehouse.open_writer()
    try:
        create_raw_tables(con)
        from ingest.audit import ensure_schema

        ensure_schema(con)
        from medcom.closing.store import ensure_schema as ensure_closed_schema

        ensure_closed_schema(con)  # every snapshot carries closed.kpi_values, empty until a close
    finally:
        con.close()


def run_dbt(command: str = "build", extra: list[str] | None = None, echo=None) -> BuildResult:
    """Run one dbt command in a child process, echoing one line per finished node."""
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    p = paths().ensure()
    p.dbt_logs.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "warehouse.dbt_child", *dbt_args(command, ["--log-format", "json", *(extra or [])])]
    result = BuildResult()
    started = time.perf_counter()
    total = 0
    errors: list[str] = []
    with subprocess.Popen(args, env=dbt_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                if line.strip():
                    errors.append(line.strip())
                continue
            info, data = msg.get("info", {}), msg.get("data", {})
            name = info.get("name") or ""
            if name.startswith("Log") and name.endswith("Result") and "node_info" in data:
                node = data["node_info"]
                status = str(data.get("status") or node.get("node_status") or "").lower()
                kind = node.get("resource_type", "node")
                label = node.get("node_name") or node.get("unique_id", "?")
                total = int(data.get("total") or data.get("num_models") or total or 0)
                secs = float(data.get("execution_time") or 0)
                if status in ("success", "pass", "ok") or status.startswith(("ok", "insert", "create", "select")):
                    result.ok += 1
                    word = "ok"
                elif status == "warn":
                    result.warned.append(f"{kind} {label}")
                    word = "WARN"
                elif status in ("skipped", "skip"):
                    result.skipped += 1
                    word = "skipped"
                else:
                    failures = data.get("num_failures")
                    why = f"{failures} failing row(s)" if failures else status
                    result.failed.append(f"{kind} {label}: {why}")
                    word = "FAILED"
                index = data.get("index") or (result.ok + len(result.failed) + len(result.warned) + result.skipped)
                echo(f"  [{index}/{total or '?'}] {word:<7} {kind:<9} {label} ({secs:.1f}s)")
            elif name == "ConcurrencyLine":
                total = int(data.get("node_count") or 0)
                echo(f"dbt {command}: {total} nodes on {data.get('num_threads', '?')} threads")
            elif name in ("RunResultError", "RunResultFailure", "RunResultErrorNoMessage") and data.get("msg"):
                errors.append(str(data["msg"]).strip().splitlines()[0])
            elif info.get("level") == "error" and info.get("msg"):
                errors.append(str(info["msg"]).strip().splitlines()[0])
        code = proc.wait()
    result.seconds = time.perf_counter() - started
    result.errors = errors
    if code != 0 and not result.failed:
        detail = errors[-1] if errors else f"dbt exited with code {code}"
        raise BuildFailed(f"dbt {command} failed: {detail}")
    return result


def build(echo=None) -> BuildResult:
    """`medcom build`: dbt build under the writer lock, then publish to readers."""
    import warehouse

    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    with warehouse.writer_lock():
        prepare_warehouse()
        result = run_dbt("build", echo=echo)
        if result.failed:
            lines = "\n  ".join(result.failed[:10] + result.errors[:5])
            raise BuildFailed(
                f"build failed: {len(result.failed)} of {result.ok + len(result.failed)} nodes failed "
                f"(the published warehouse was left unchanged):\n  {lines}"
            )
        snap = warehouse.publish()
    result.snapshot = snap.parent.name
    summary = f"build ok: {result.ok} nodes passed"
    if result.warned:
        summary += f", {len(result.warned)} warnings"
    summary += f" in {result.seconds:.1f} s; published {snap.parent.name}"
    print(summary)
    return result


def docs(echo=None) -> Path:
    """`medcom docs`: dbt docs generate (catalog of every table and column) under MEDCOM_HOME/dbt/target."""
    import warehouse

    with warehouse.writer_lock():
        prepare_warehouse()
        run_dbt("docs generate", echo=echo)
    index = paths().dbt_target / "index.html"
    print(f"dbt docs written to {index.parent} — view with: python -m http.server --directory {index.parent} 8081")
    return index
