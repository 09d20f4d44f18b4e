"""Incremental builds: what `medcom build` rebuilds, and the state that says what was built.

A build is **incremental** (DuckDB) when the warehouse holds the state of an earlier successful
build of the same dbt project; otherwise, or with `medcom build --full`, it is **full** (dbt
--full-refresh: every model, seed, data and unit test). An incremental build:

- covers the *pending* batches: those in audit.ingest_batches that the last successful build did
  not cover. `medcom build` writes them to audit.build_pending; dbt's int_build_months turns them
  into the months to rebuild (the month of every row they loaded or replaced), and the incremental
  models (int_encounters_attributed, fct_encounters, int_kpi_a_measures, int_kpi_c_fund_ratios)
  delete and re-insert exactly those months (dbt_project/macros/medcom_incremental.sql);
- runs only what the change can touch: `dbt build --select source:audit+ source:raw.<feed>+` for
  every feed with a newly accepted batch (plus the models that read the as-of date when it
  changed), without the unit tests (they test the models' code with fixed inputs, and any change to
  the code forces a full build). Every selected table model is rebuilt in full from the monthly
  tables, so YTD and year rows of later months follow a corrected month.

A build is full when any of these holds (the reason is printed and recorded):
- `--full`; the Spark engine (its models are always tables; a Spark build clears the state);
- no state (first build, or the last successful build was on Spark);
- the fingerprint changed: any file of the dbt project (models, macros, seeds, tests), the feed
  contract, or the dbt / dbt-duckdb version;
- a pending batch belongs to a feed the incremental models or their tests read other than by month
  (`full_feeds`, derived from dbt's manifest after each build: the registry feeds regions,
  facilities, communities, memberships, catchments — a new snapshot changes every month's
  attribution);
- the as-of date changed and an incremental model reads it (none does today).

State, in the warehouse so it always matches its tables, written in one transaction only after dbt
succeeded and before publishing (a failed or killed build leaves the previous state, so the next
build covers the failed build's batches again; delete + insert of a month is idempotent):

    audit.build_batches (batch_id, feed)   every batch the last successful build covered
    audit.build_state                       one row: built_at, engine, mode, fingerprint,
                                            as_of_date, full_feeds, as_of_models, as_of_forces_full
    audit.build_pending (batch_id)          the batches the running (or last) build covers
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

DDL = (
    "CREATE SCHEMA IF NOT EXISTS audit",
    "CREATE TABLE IF NOT EXISTS audit.build_pending (batch_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS audit.build_batches (batch_id VARCHAR, feed VARCHAR)",
    """CREATE TABLE IF NOT EXISTS audit.build_state (
        built_at TIMESTAMP, engine VARCHAR, mode VARCHAR, fingerprint VARCHAR, as_of_date DATE,
        full_feeds VARCHAR, as_of_models VARCHAR, as_of_forces_full BOOLEAN)""",
)
ACCEPTED = ("accepted", "accepted_with_quarantine")
AS_OF_MACRO = "macro.medcom.medcom_as_of_date"
MONTHS_MODEL = "model.medcom.int_build_months"


@dataclass
class Plan:
    mode: str  # "full" | "incremental"
    reason: str
    batches: list[tuple[str, str]] = field(default_factory=list)  # every (batch_id, feed) now
    pending: list[str] = field(default_factory=list)  # the batches this build covers
    feeds: list[str] = field(default_factory=list)  # feeds with a newly accepted batch
    select: list[str] = field(default_factory=list)  # dbt selectors (incremental)
    as_of_date: str = ""
    engine: str = "duckdb"

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def dbt_args(self) -> list[str]:
        if self.full:
            return ["--full-refresh"] if self.engine == "duckdb" else []
        return ["--select", *self.select, "--exclude-resource-type", "unit_test"]

    def describe(self) -> str:
        if self.full:
            return f"full build ({self.reason})"
        feeds = ", ".join(self.feeds) or "no feed"
        return f"incremental build: {len(self.pending)} batch(es) since the last build ({feeds})"


def ensure_schema(con) -> None:
    for ddl in DDL:
        con.execute(ddl)


def fingerprint() -> str:
    """Hash of everything a build's result depends on besides the data: every file of the dbt
    project, the feed contract (the raw tables' columns) and the dbt versions."""
    import importlib.metadata as md

    import medcom.contract
    from dbt_project import PROJECT_DIR

    h = hashlib.sha256()
    skip = {"target", "logs", "dbt_packages", "__pycache__"}
    files = [
        p for p in sorted(PROJECT_DIR.rglob("*")) if p.is_file() and not skip & set(p.relative_to(PROJECT_DIR).parts)
    ]
    for p in files:
        h.update(str(p.relative_to(PROJECT_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    h.update((Path(medcom.contract.__file__).parent / "feeds.yaml").read_bytes())
    for dist in ("dbt-core", "dbt-duckdb"):
        try:
            h.update(f"{dist}=={md.version(dist)}".encode())
        except md.PackageNotFoundError:
            h.update(dist.encode())
    return h.hexdigest()


def _state(con) -> dict | None:
    row = con.execute(
        "SELECT fingerprint, CAST(as_of_date AS VARCHAR), full_feeds, as_of_models, as_of_forces_full, engine "
        "FROM audit.build_state LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    keys = ("fingerprint", "as_of_date", "full_feeds", "as_of_models", "as_of_forces_full", "engine")
    st = dict(zip(keys, row, strict=True))
    st["full_feeds"] = json.loads(st["full_feeds"] or "[]")
    st["as_of_models"] = json.loads(st["as_of_models"] or "[]")
    return st


def plan(con, *, full: bool, engine: str, as_of_date: str) -> Plan:
    """What this build does (call under the writer lock, after the audit tables exist)."""
    ensure_schema(con)
    rows = con.execute("SELECT batch_id, feed, verdict FROM audit.ingest_batches ORDER BY batch_id").fetchall()
    batches = [(b, f) for b, f, _ in rows]
    every = [b for b, _ in batches]
    base = {"batches": batches, "as_of_date": as_of_date, "engine": engine}

    def full_plan(reason: str) -> Plan:
        return Plan("full", reason, pending=every, **base)

    if engine != "duckdb":
        return full_plan(f"the {engine} engine always builds in full")
    if full:
        return full_plan("--full")
    state = _state(con)
    if state is None or state["engine"] != "duckdb":
        return full_plan("no earlier build of this warehouse to build on")
    if state["fingerprint"] != fingerprint():
        return full_plan("the dbt project, the feed contract or dbt changed since the last build")
    built = {r[0] for r in con.execute("SELECT batch_id FROM audit.build_batches").fetchall()}
    pending = [(b, f, v) for b, f, v in rows if b not in built]
    feeds = sorted({f for _, f, v in pending if v in ACCEPTED})
    forcing = sorted(set(feeds) & set(state["full_feeds"]))
    if forcing:
        return full_plan(f"new {', '.join(forcing)} data: every month's attribution may change")
    as_of_changed = state["as_of_date"] != as_of_date
    if as_of_changed and state["as_of_forces_full"]:
        return full_plan(f"the as-of date changed ({state['as_of_date']} → {as_of_date})")
    select = ["source:audit+", *(f"source:raw.{f}+" for f in feeds)]
    if as_of_changed:
        select += [f"{m}+" for m in state["as_of_models"]]
    return Plan(
        "incremental",
        "built on the last successful build",
        pending=[b for b, _, _ in pending],
        feeds=feeds,
        select=select,
        **base,
    )


def write_pending(con, p: Plan) -> None:
    """audit.build_pending := the batches this build covers (dbt's source for int_build_months)."""
    ensure_schema(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM audit.build_pending")
        if p.pending:
            con.executemany("INSERT INTO audit.build_pending VALUES (?)", [(b,) for b in p.pending])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def lineage(manifest_path: Path) -> dict:
    """From dbt's manifest of the build that just ran: the feeds that force a full build when they
    change (read by an incremental model or a test of one, other than through int_build_months'
    by-month feeds), the models that read the as-of date, and whether an incremental model does."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes = {**manifest["nodes"], **manifest.get("sources", {})}
    incremental = {u for u, n in manifest["nodes"].items() if n.get("config", {}).get("materialized") == "incremental"}

    def ancestors(start: set[str]) -> set[str]:
        seen, stack = set(), list(start)
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.add(u)
                stack.extend(nodes.get(u, {}).get("depends_on", {}).get("nodes", []))
        return seen

    tests = {
        u
        for u, n in manifest["nodes"].items()
        if n["resource_type"] == "test" and set(n["depends_on"]["nodes"]) & incremental
    }
    data = ancestors(incremental)  # what the incremental models' rows are computed from
    seen = ancestors(incremental | tests)  # … and what their (month-scoped) tests compare them with

    def raw_feed(u: str) -> str | None:
        n = nodes.get(u, {})
        return n.get("name") if n.get("resource_type") == "source" and n.get("source_name") == "raw" else None

    month_feeds = {raw_feed(u) for u in nodes.get(MONTHS_MODEL, {}).get("depends_on", {}).get("nodes", [])}
    read = {raw_feed(u) for u in seen} - {None}
    reads_as_of = {u for u, n in manifest["nodes"].items() if AS_OF_MACRO in n.get("depends_on", {}).get("macros", [])}
    return {
        "full_feeds": sorted(read - month_feeds),
        "as_of_models": sorted(manifest["nodes"][u]["name"] for u in reads_as_of if u.startswith("model.")),
        # the tests' other parent (dim_org) reads the as-of date for current attributes only, not
        # for which orgs exist, so only the models' own lineage counts here
        "as_of_forces_full": bool(reads_as_of & data),
    }


def record_success(con, p: Plan, manifest_path: Path) -> None:
    """After dbt succeeded (before publishing): the batches this build covered and the lineage, in
    one transaction. Without a readable manifest nothing is recorded (the next build is full)."""
    ensure_schema(con)
    try:
        lin = lineage(manifest_path)
    except (OSError, ValueError, KeyError):
        clear(con)
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM audit.build_batches")
        if p.batches:
            con.executemany("INSERT INTO audit.build_batches VALUES (?, ?)", p.batches)
        con.execute("DELETE FROM audit.build_state")
        con.execute(
            "INSERT INTO audit.build_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                p.engine,
                p.mode,
                fingerprint(),
                p.as_of_date,
                json.dumps(lin["full_feeds"]),
                json.dumps(lin["as_of_models"]),
                lin["as_of_forces_full"],
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def clear(con) -> None:
    """Forget the state (the next DuckDB build is full): after a Spark build replaced the tables."""
    ensure_schema(con)
    con.execute("DELETE FROM audit.build_state")


def rebuilt_months(con) -> list[str]:
    """The months the last build rebuilt in the incremental models (YYYY-MM), from int_build_months."""
    try:
        rows = con.execute("SELECT strftime(month, '%Y-%m') FROM intermediate.int_build_months ORDER BY 1").fetchall()
    except Exception:  # noqa: BLE001 - no such table before the first build
        return []
    return [r[0] for r in rows]
