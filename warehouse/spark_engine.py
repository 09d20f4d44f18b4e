"""`medcom build --engine spark`: the same dbt project on Apache Spark, over the lake.

Settings (environment):
  MEDCOM_SPARK_METHOD   session (default: Spark in the dbt process — local mode, or Spark
                        Connect when MEDCOM_SPARK_REMOTE is set) or thrift (a Spark Thrift server)
  MEDCOM_SPARK_MASTER   local mode master, default local[2]
  MEDCOM_SPARK_REMOTE   Spark Connect URL, e.g. sc://spark-head:15002 (needs pyspark[connect])
  MEDCOM_SPARK_HOST / MEDCOM_SPARK_PORT / MEDCOM_SPARK_USER   the Thrift server (method thrift,
                        needs `pip install "dbt-spark[PyHive]"`)
  MEDCOM_SPARK_DRIVER_MEMORY   local mode driver memory, default 2g
  MEDCOM_SPARK_CONF     extra Spark settings, "key=value,key=value"
  MEDCOM_LAKE           the lake folder (must be shared storage the cluster reads and writes)

The build registers the lake's raw tables as views (on-run-start), runs `dbt build` on
Spark, which writes every table under a fresh lake folder `build/<stamp>/<schema>/<model>`,
then publishes: the intermediate and marts tables are loaded into the warehouse file from
those Parquet folders and the staging views are created on DuckDB (`dbt run --select
staging`), so readers get the same schemas, tables and columns as after a DuckDB build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from medcom.errors import MedcomError
from medcom.settings import paths
from warehouse import lake

PUBLISHED_SCHEMAS = ("intermediate", "marts")
KEEP_BUILDS = 2


class SparkUnavailable(MedcomError):
    pass


def method() -> str:
    m = os.environ.get("MEDCOM_SPARK_METHOD", "session").strip().lower()
    if m not in ("session", "thrift"):
        raise SparkUnavailable(f"MEDCOM_SPARK_METHOD={m!r}: use session (local mode or Spark Connect) or thrift")
    return m


def is_local() -> bool:
    return method() == "session" and not os.environ.get("MEDCOM_SPARK_REMOTE")


def java_version() -> int | None:
    """Major version of the `java` on PATH (or under JAVA_HOME), None when there is none."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def check_available() -> None:
    """Plain one-line errors before anything starts: Spark stack installed, Java for local mode."""
    method()
    try:
        import dbt.adapters.spark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(
            'the Spark engine is not installed: pip install "medcom[spark]" (dbt-spark and pyspark)'
        ) from None
    if method() == "session":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise SparkUnavailable('pyspark is not installed: pip install "medcom[spark]"') from None
    if is_local():
        v = java_version()
        if v is None:
            raise SparkUnavailable(
                "Spark local mode needs Java 17 or later and none was found: install it "
                "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
            )
        if v < 17:
            raise SparkUnavailable(
                f"Spark local mode needs Java 17 or later, found Java {v}: install openjdk-17-jre-headless or set JAVA_HOME"
            )


def where() -> str:
    """Where Spark runs, for the progress line."""
    if method() == "thrift":
        return (
            f"Thrift server {os.environ.get('MEDCOM_SPARK_HOST', 'NA')}:{os.environ.get('MEDCOM_SPARK_PORT', '10000')}"
        )
    if os.environ.get("MEDCOM_SPARK_REMOTE"):
        return f"Spark Connect {os.environ['MEDCOM_SPARK_REMOTE']}"
    return f"starting Spark local mode ({os.environ.get('MEDCOM_SPARK_MASTER', 'local[2]')})"


def new_build_root() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return lake.build_dir() / stamp


def dbt_vars(build_root: Path) -> dict:
    return {
        "lake_raw": str(lake.raw_dir()),
        "lake_audit": str(build_root / "audit"),
        "spark_build_root": str(build_root),
    }


AUDIT_SOURCES = ("ingest_batches", "batch_coverage", "dq_findings", "build_pending")


def export_audit(con, build_root: Path) -> None:
    """The audit tables dbt reads as sources, as Parquet beside the build (a snapshot taken under
    the writer lock; they are small)."""
    folder = build_root / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'audit'").fetchall()
    }
    for t in AUDIT_SOURCES:
        if t in tables:
            path = str(folder / f"{t}.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM audit.{t}) TO '{path}' (FORMAT parquet)")


def child_env(env: dict[str, str]) -> dict[str, str]:
    env = dict(env)
    env["MEDCOM_DBT_TARGET"] = "spark"
    env.setdefault("MEDCOM_SPARK_LOG", str(paths().logs / "spark.log"))
    env.setdefault("MEDCOM_SPARK_WAREHOUSE", str(paths().home / "spark" / "warehouse"))
    return env


def published_tables(target: Path) -> list[tuple[str, str]]:
    """(schema, table) of every table and seed the build wrote, from dbt's manifest."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        mat = node["config"].get("materialized")
        if node["resource_type"] == "model" and mat not in ("table", "incremental"):
            continue
        if node["schema"] in PUBLISHED_SCHEMAS:
            out.append((node["schema"], node.get("alias") or node["name"]))
    return sorted(out)


def load_into_warehouse(build_root: Path, target: Path) -> int:
    """Replace the intermediate and marts schemas of the warehouse file with the Spark build's
    tables (one transaction; the caller holds the writer lock). Returns the tables loaded."""
    import warehouse

    tables = published_tables(target)
    missing = [f"{s}.{t}" for s, t in tables if not any((build_root / s / t).glob("*.parquet"))]
    if missing:
        raise MedcomError(f"the Spark build wrote no Parquet files for {', '.join(missing[:5])}")
    con = warehouse.open_writer()
    try:
        con.execute("BEGIN TRANSACTION")
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            con.execute(f"CREATE SCHEMA {schema}")
        for schema, table in tables:
            files = str(build_root / schema / table / "*.parquet").replace("'", "''")
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM read_parquet('{files}')")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return len(tables)


def prune_builds(keep: Path) -> None:
    """Keep the newest KEEP_BUILDS build folders (the one just published among them)."""
    root = lake.build_dir()
    if not root.is_dir():
        return
    olds = sorted(p for p in root.iterdir() if p.is_dir() and p != keep)
    for old in olds[: max(0, len(olds) - (KEEP_BUILDS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
