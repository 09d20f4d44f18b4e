"""`medcom build`: run the dbt project (seeds, models, tests) and publish the result.

dbt runs in a child process (`python -m warehouse.dbt_child`) so that dbt-duckdb's
connection is certainly closed before the warehouse file is copied to a snapshot, and so
that its memory is returned. Its structured (JSON) log is turned into the progress of the
`build` step (medcom.progress: a bar on a terminal, plain lines otherwise), one detail line per
node (the run's log file in MEDCOM_HOME/logs; on screen with --verbose) and a one-line summary;
dbt's own full log stays in MEDCOM_HOME/dbt/logs. Every build is recorded for `medcom status`
(warehouse/build_record.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from medcom import progress
from medcom.errors import MedcomError
from medcom.settings import paths


class BuildFailed(MedcomError):
    pass


class NothingIngested(MedcomError):
    """`medcom build` before any file was accepted (exit 1): say what to run instead."""


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

    from dbt_project import PROJECT_DIR

    folder = paths().home / "dbt"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_DIR / "profiles.yml", folder / "profiles.yml")
    return str(folder)


def as_of_date() -> str:
    """The build's as-of date: MEDCOM_AS_OF_DATE (YYYY-MM-DD), else today in Asia/Shanghai."""
    import datetime as dt

    raw = os.environ.get("MEDCOM_AS_OF_DATE", "").strip()
    if not raw:
        from ingest.checks import today_shanghai

        return today_shanghai().isoformat()
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise BuildFailed(f"MEDCOM_AS_OF_DATE={raw!r} is not a date (use YYYY-MM-DD)") from None


def dbt_args(command: str = "build", extra: list[str] | None = None, dbt_vars: dict | None = None) -> list[str]:
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
        "--vars",
        json.dumps({"as_of_date": as_of_date(), **(dbt_vars or {})}),
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
        from warehouse import incremental

        incremental.ensure_schema(con)  # audit.build_pending etc. (dbt reads build_pending)
    finally:
        con.close()


def ingested_files() -> tuple[int, int]:
    """(files ingested, files accepted) so far, from audit.ingest_batches; (0, 0) before any ingest.

    Call with the writer lock held."""
    import duckdb

    import warehouse

    p = paths()
    if not p.warehouse.exists():
        return 0, 0
    con = warehouse.open_writer()
    try:
        return con.execute(
            "SELECT count(*), count(*) FILTER (WHERE verdict IN ('accepted', 'accepted_with_quarantine')) "
            "FROM audit.ingest_batches"
        ).fetchone()
    except duckdb.CatalogException:
        return 0, 0
    finally:
        con.close()


def refuse_if_empty() -> None:
    """Raise NothingIngested unless at least one file has been accepted (call under the writer lock)."""
    files, accepted = ingested_files()
    anyway = "`medcom build --allow-empty` builds an empty warehouse anyway"
    if files == 0:
        raise NothingIngested(
            "nothing has been ingested yet, so there is nothing to build: run `medcom ingest INBOX` first "
            f"(`medcom generate INBOX` writes a synthetic city to try it); {anyway}"
        )
    if accepted == 0:
        raise NothingIngested(
            f"no file has been accepted yet ({files} ingested, none accepted): fix the rejected files and "
            f"ingest them again (`medcom status` lists them); {anyway}"
        )


ENGINES = ("duckdb", "spark")


def engine_name(engine: str | None = None) -> str:
    """--engine, else MEDCOM_ENGINE, else duckdb."""
    name = (engine or os.environ.get("MEDCOM_ENGINE") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise BuildFailed(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")
    return name


def run_dbt(
    command: str = "build",
    extra: list[str] | None = None,
    echo=None,
    engine: str = "duckdb",
    dbt_vars: dict | None = None,
) -> BuildResult:
    """Run one dbt command in a child process (engine duckdb or spark), as a `medcom.progress` step
    with one detail line per finished node (`echo`, when given, also gets every line)."""
    p = paths().ensure()
    p.dbt_logs.mkdir(parents=True, exist_ok=True)
    child = "warehouse.spark_child" if engine == "spark" else "warehouse.dbt_child"
    env = dbt_env()
    if engine == "spark":
        from warehouse import spark_engine

        env = spark_engine.child_env(env)
    args = [sys.executable, "-m", child, *dbt_args(command, ["--log-format", "json", *(extra or [])], dbt_vars)]
    result = BuildResult()
    started = time.perf_counter()
    total = 0
    errors: list[str] = []
    step_name = command.split()[0] if command != "build" else "build"
    with (
        progress.step(step_name, unit="nodes") as step,
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc,
    ):
        assert proc.stdout is not None

        def emit(text: str) -> None:
            step.detail(text)
            if echo is not None:
                echo(text)

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
                if total > (step.total or 0):
                    step.total = total
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
                step.advance()
                step.note(label if word == "ok" else f"{word} {label}")
                emit(f"  [{index}/{total or '?'}] {word:<7} {kind:<9} {label} ({secs:.1f}s)")
            elif name == "ConcurrencyLine":
                total = int(data.get("node_count") or 0)
                step.total = total or None
                emit(f"dbt {command}: {total} nodes on {data.get('num_threads', '?')} threads")
            elif name in ("RunResultError", "RunResultFailure", "RunResultErrorNoMessage") and data.get("msg"):
                errors.append(str(data["msg"]).strip().splitlines()[0])
            elif info.get("level") == "error" and info.get("msg"):
                errors.append(str(info["msg"]).strip().splitlines()[0])
        code = proc.wait()
        done = result.ok + len(result.failed) + len(result.warned) + result.skipped
        if code == 0 and done:
            step.total = done  # dbt's own "N of M" may count nodes it never runs (seen with --full-refresh)
    result.seconds = time.perf_counter() - started
    result.errors = errors
    if code != 0 and not result.failed:
        detail = errors[-1] if errors else f"dbt exited with code {code}"
        raise BuildFailed(f"dbt {command} failed: {detail}")
    return result


def _raise_if_failed(result: BuildResult) -> None:
    if result.failed:
        lines = "\n  ".join(result.failed[:10] + result.errors[:5])
        raise BuildFailed(
            f"build failed: {len(result.failed)} of {result.ok + len(result.failed)} nodes failed "
            f"(the published warehouse was left unchanged):\n  {lines}"
        )


def _build_spark(echo) -> BuildResult:
    """Engine spark: reconcile the lake, dbt build on Spark over it, then the Spark build's tables
    into the warehouse file and the staging views on DuckDB (warehouse/spark_engine.py)."""
    import warehouse
    from warehouse import lake, spark_engine

    root = spark_engine.new_build_root()
    con = warehouse.open_writer()
    try:
        lake.reconcile(con, echo=progress.note)
        spark_engine.export_audit(con, root)
    finally:
        con.close()
    progress.echo(f"spark: {spark_engine.where()} over the lake {lake.raw_dir()}", err=True)
    try:
        result = run_dbt("build", echo=echo, engine="spark", dbt_vars=spark_engine.dbt_vars(root))
        _raise_if_failed(result)
        n = spark_engine.load_into_warehouse(root, paths().dbt_target)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    progress.echo(f"spark: {n} tables of intermediate and marts loaded into the warehouse", err=True)
    # the staging views on DuckDB; dbt/target keeps the Spark build's run results (every test's status)
    results = paths().dbt_target / "run_results.json"
    kept = results.with_name("run_results.spark-build.json")
    shutil.copyfile(results, kept)
    _raise_if_failed(run_dbt("run", extra=["--select", "staging"]))
    os.replace(kept, results)
    spark_engine.prune_builds(keep=root)
    return result


def _plan(full: bool, engine: str):
    """What this build rebuilds (warehouse/incremental.py), with audit.build_pending written."""
    import warehouse
    from warehouse import incremental

    con = warehouse.open_writer()
    try:
        plan = incremental.plan(con, full=full, engine=engine, as_of_date=as_of_date())
        incremental.write_pending(con, plan)
    finally:
        con.close()
    return plan


def _record_success(plan) -> list[str]:
    """The build's state after dbt succeeded (before publishing); returns the months rebuilt."""
    import warehouse
    from warehouse import incremental

    con = warehouse.open_writer()
    try:
        if plan.engine == "duckdb":
            incremental.record_success(con, plan, paths().dbt_target / "manifest.json")
        else:
            incremental.clear(con)
        return incremental.rebuilt_months(con)
    finally:
        con.close()


def _months_text(months: list[str]) -> str:
    if not months:
        return "no month"
    if len(months) <= 3:
        return ", ".join(months)
    return f"{len(months)} months ({months[0]} … {months[-1]})"


def build(echo=None, allow_empty: bool = False, engine: str | None = None, full: bool = False) -> BuildResult:
    """`medcom build`: dbt build under the writer lock (engine duckdb, or spark over the lake),
    then publish to readers. Incremental on DuckDB when an earlier build's state allows it
    (warehouse/incremental.py); `full` (--full) rebuilds everything.

    Refuses (NothingIngested, exit 1) before any file has been accepted, unless allow_empty."""
    import warehouse
    from warehouse import build_record

    name = engine_name(engine)
    if name == "spark":
        from warehouse import spark_engine

        spark_engine.check_available()
    with warehouse.writer_lock():
        if not allow_empty:
            refuse_if_empty()
        with build_record.recording(engine=name) as rec:
            prepare_warehouse()
            plan = _plan(full, name)
            rec.update(mode=plan.mode, reason=plan.reason, batches_pending=len(plan.pending))
            progress.detail(f"build: {plan.describe()}")
            result = _build_spark(echo) if name == "spark" else run_dbt("build", extra=plan.dbt_args(), echo=echo)
            rec.update(nodes_passed=result.ok, nodes_failed=len(result.failed), warnings=len(result.warned))
            _raise_if_failed(result)
            months = _record_success(plan)
            rec["months_rebuilt"] = len(months)
            snap = warehouse.publish()
            rec["snapshot"] = snap.parent.name
    result.snapshot = snap.parent.name
    summary = f"build ok: {result.ok} nodes passed"
    if result.warned:
        summary += f", {len(result.warned)} warnings"
    how = f"full build: {plan.reason}" if plan.full else f"incremental: {_months_text(months)} rebuilt"
    summary += f" in {result.seconds:.1f} s ({how}); published {snap.parent.name}"
    progress.result(summary)
    return result


def docs(echo=None) -> Path:
    """`medcom docs`: dbt docs generate (catalog of every table and column) under MEDCOM_HOME/dbt/target."""
    import warehouse

    with warehouse.writer_lock():
        prepare_warehouse()
        run_dbt("docs generate", echo=echo)
    index = paths().dbt_target / "index.html"
    progress.result(f"dbt docs written to {index.parent}")
    progress.hint(f"python -m http.server --directory {index.parent} 8081, then open http://127.0.0.1:8081")
    return index
