"""Scoped snapshots: a copy of the published warehouse holding only one scope's rows.

A county user's (or a city analyst's) SQL — the SQL page and `POST /api/sql` — runs on
`published/<snapshot>/scopes/<level>-<code>/warehouse.duckdb`, so no statement can reach rows
outside the scope, whatever it says. `publish_scoped(folder)` writes them for every user's scope,
beside the full snapshot, before `published/CURRENT` moves; `scoped_snapshot(scope)` returns the
current one and makes it on first use (a user added after the last build, any other county).
The scoped viewer's dashboard pages read the same copy.

What a scoped snapshot holds (generic, so tables added later are scoped too; fail closed):
- a table with `org_level` + `org_id` (dim_org, kpi_values, closed.kpi_values, …): rows of orgs in
  the scope (`medcom.access.scope.members`), plus rows that name no org (catalogue-wide defaults);
- else a table with org columns (`facility_id`, `insured_county_code`, `county_code`,
  `community_id`, `township_code`, …, `org` / `county` of `audit.batch_coverage` and
  `audit.dq_findings`): rows where ANY of them is in the scope (a fact insured in the county or at a
  facility located in it; a coverage key or finding of the county or one of its communities);
- the audit tables (and `closed.batches`) by their batches: batches whose coverage or file name
  names one of the scope's counties or communities (their coverage cut to the scope's keys), their
  expectation results, their quarantined rows that name the scope, replacements of its keys;
- org-free tables on a short list (`marts.dim_kpi`, `marts.league_weights`, `audit.runs`) whole; `closed.closes` (the list of
  monthly closes: month, revision, time, user, note) whole, its counts (`kpi_rows`, `batches`)
  recounted in the scope;
- anything else (a table that cannot be scoped) is left out, never copied whole. Views are left out,
  and so are the loading and dbt working layers (`raw`, `staging`, `intermediate`): a scoped
  reader gets the analysts' contract (marts, audit, closed, …), scoped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path

import duckdb

from medcom.access.scope import Scope, members

# column -> org level it names (facts and raw tables)
ORG_COLUMNS = {
    "facility_id": "facility",
    "insured_county_code": "county",
    "county_code": "county",
    "community_id": "community",
    "catchment_community_id": "community",
    "member_community_id": "community",
    "township_code": "township",
    "city_code": "city",
    "province_code": "province",
    "region_code": None,  # an administrative code of any level (codes are unique across levels)
    # audit.batch_coverage (org = county, community or region; county = the org's county) and
    # audit.dq_findings (county = the failing county-month's org): administrative codes of any level
    "org": None,
    "county": None,
}
# org-free tables copied whole: the KPI catalogue, the league weights, the ingest runs, the list of monthly closes
WHOLE = {
    ("marts", "dim_kpi"),
    ("marts", "kpi_catalogue"),
    ("marts", "league_weights"),
    ("audit", "runs"),
    ("closed", "closes"),
}
BY_BATCH = {("audit", "ingest_batches"), ("audit", "dq_results"), ("closed", "batches")}
SCOPES_DIR = "scopes"
SKIP_SCHEMAS = ("raw", "staging", "intermediate", "information_schema", "pg_catalog")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_filter(schema: str, table: str, columns: list[str]) -> str | None:
    """The WHERE clause that keeps a table's in-scope rows (over temp tables _scope_orgs, _scope_keys,
    _scope_batches); 'TRUE' for an org-free table on the list; None = leave the table out."""
    cols = set(columns)
    if {"org_level", "org_id"} <= cols:
        return "(org_id IS NULL OR (org_level, CAST(org_id AS VARCHAR)) IN (SELECT org_level, org_id FROM _scope_orgs))"
    named = [c for c in columns if c in ORG_COLUMNS]
    if named:
        tests = []
        for c in named:
            level = f" WHERE org_level = '{ORG_COLUMNS[c]}'" if ORG_COLUMNS[c] else ""
            tests.append(f"CAST({_q(c)} AS VARCHAR) IN (SELECT org_id FROM _scope_orgs{level})")
        return "(" + " OR ".join(tests) + ")"
    if (schema, table) in BY_BATCH and "batch_id" in cols:
        return "batch_id IN (SELECT batch_id FROM _scope_batches)"
    if schema == "audit" and table == "quarantine" and {"batch_id", "row_json"} <= cols:
        return (
            "batch_id IN (SELECT batch_id FROM _scope_batches) AND EXISTS "
            "(SELECT 1 FROM _scope_rowkeys k WHERE contains(coalesce(row_json, ''), k.key))"
        )
    if schema == "audit" and table == "replacements" and "coverage_key" in cols:
        return "EXISTS (SELECT 1 FROM _scope_keys k WHERE contains(coalesce(coverage_key, ''), k.key))"
    if (schema, table) in WHOLE:
        return "TRUE"
    return None


def build_scoped(src: Path, dest: Path, scope: Scope) -> Path:
    """Write the `scope` copy of snapshot `src` to `dest` (atomically: a partial file, then rename)."""
    if scope.is_all:
        raise ValueError("the whole warehouse needs no scoped copy")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        orgs = con.execute("SELECT * FROM src.marts.dim_org").df()
        orgs["org_id"] = orgs["org_id"].astype(str)
        keep = members(orgs.astype(object).where(orgs.notna(), None).to_dict("records"), scope)
        if (scope.level, scope.code) not in keep:
            raise LookupError(f"{scope} is not an org of the warehouse")
        con.execute("CREATE TEMP TABLE _scope_orgs (org_level VARCHAR, org_id VARCHAR)")
        con.executemany("INSERT INTO _scope_orgs VALUES (?, ?)", sorted(keep))
        con.execute(
            "CREATE TEMP TABLE _scope_keys AS SELECT org_id AS key FROM _scope_orgs "
            "WHERE org_level IN ('county', 'community')"
        )
        con.execute(
            "CREATE TEMP TABLE _scope_rowkeys AS SELECT org_id AS key FROM _scope_orgs "
            "WHERE org_level IN ('county', 'community', 'township', 'facility')"
        )
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'src' "
            "AND table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        if ("audit", "ingest_batches") in tables:
            # a batch is the scope's when its coverage or file name names one of the scope's counties or
            # communities, or one of its coverage rows (audit.batch_coverage) is in the scope
            covered = (
                " OR b.batch_id IN (SELECT batch_id FROM src.audit.batch_coverage WHERE CAST(org AS VARCHAR) IN "
                "(SELECT org_id FROM _scope_orgs) OR CAST(county AS VARCHAR) IN (SELECT org_id FROM _scope_orgs))"
                if ("audit", "batch_coverage") in tables
                else ""
            )
            con.execute(
                "CREATE TEMP TABLE _scope_batches AS SELECT batch_id FROM src.audit.ingest_batches b WHERE EXISTS "
                "(SELECT 1 FROM _scope_keys k WHERE contains(coalesce(b.coverage, '') || ' ' || "
                f"coalesce(b.file_name, ''), k.key)){covered}"
            )
        else:
            con.execute("CREATE TEMP TABLE _scope_batches (batch_id VARCHAR)")
        for schema, table in tables:
            if schema in SKIP_SCHEMAS:
                continue
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'src' "
                    "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            where = table_filter(schema, table, cols)
            if where is None:
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
            con.execute(
                f"CREATE TABLE {_q(schema)}.{_q(table)} AS SELECT * FROM src.{_q(schema)}.{_q(table)} WHERE {where}"
            )
        for schema, table in (("audit", "ingest_batches"), ("closed", "batches")):
            if (schema, table) in tables:
                _trim_coverage(con, f"{schema}.{table}", {o for lvl, o in keep if lvl in ("county", "community")})
        outside = set(orgs["org_id"]) - {o for _, o in keep}
        _trim_texts(con, set(tables), outside)
        if {("closed", "closes"), ("closed", "kpi_values"), ("closed", "batches")} <= set(tables):
            _recount_closes(con, outside)
        con.execute("DETACH src")
    finally:
        con.close()
    os.replace(tmp, dest)
    return dest


def _trim_coverage(con: duckdb.DuckDBPyConnection, table: str, keys: set[str]) -> None:
    """A city-wide batch lists every county's coverage keys: keep only the scope's (`<org>:<period>`)."""
    rows = con.execute(f"SELECT DISTINCT batch_id, coverage FROM {table} WHERE coverage LIKE '%:%'").fetchall()
    for batch_id, coverage in rows:
        parts = [p.strip() for p in str(coverage).split(",")]
        mine = [p for p in parts if p.split(":", 1)[0] in keys]
        if len(mine) != len(parts):
            con.execute(
                f"UPDATE {table} SET coverage = ? WHERE batch_id = ? AND coverage = ?",
                [",".join(mine), batch_id, coverage],
            )


_TOKEN = re.compile(r"[A-Za-z0-9_]+")


def _foreign(text: str, outside: set[str]) -> bool:
    return any(tok in outside for tok in _TOKEN.findall(text))


def _trim_text(text: str | None, outside: set[str]) -> str | None:
    """A '; '-joined list of findings or warnings without the parts that name an org outside the scope."""
    if not text:
        return text
    parts = [x for x in str(text).split("; ") if not _foreign(x, outside)]
    return "; ".join(parts) or None


def _trim_observed(text: str | None, outside: set[str]) -> str | None:
    """An expectation's observed value (JSON with one entry per coverage key): the scope's entries only."""
    if not text or not _foreign(text, outside):
        return text
    try:
        obs = json.loads(text)
    except ValueError:
        return None
    if isinstance(obs, dict) and isinstance(obs.get("keys"), list):
        obs["keys"] = [k for k in obs["keys"] if not _foreign(json.dumps(k), outside)]
        out = json.dumps(obs, ensure_ascii=False)
        return None if _foreign(out, outside) else out
    return None


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
            "AND table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _trim_texts(con: duckdb.DuckDBPyConnection, tables: set, outside: set[str]) -> None:
    """A city-wide batch's warnings, reasons and expectation results speak of every county: in a scoped copy
    only the parts about the scope's orgs stay (a part naming another org goes); its row counts become the
    scope's coverage rows' (audit.batch_coverage)."""
    if ("audit", "ingest_batches") in tables:
        texts = [c for c in ("reasons", "warnings") if c in _columns(con, "audit", "ingest_batches")]
        for col in texts:
            rows = con.execute(
                f"SELECT DISTINCT {col} FROM audit.ingest_batches WHERE {col} IS NOT NULL AND {col} <> ''"
            ).fetchall()
            for (text,) in rows:
                if (cut := _trim_text(text, outside)) != text:
                    con.execute(f"UPDATE audit.ingest_batches SET {col} = ? WHERE {col} = ?", [cut, text])
        counts = {"rows_read", "rows_loaded", "rows_quarantined"} <= _columns(con, "audit", "ingest_batches")
        if counts and ("audit", "batch_coverage") in tables:
            con.execute(
                "UPDATE audit.ingest_batches b SET rows_loaded = c.loaded, rows_quarantined = c.quarantined, "
                "rows_read = c.loaded + c.quarantined FROM (SELECT batch_id, sum(rows_loaded) AS loaded, "
                "sum(rows_quarantined) AS quarantined FROM audit.batch_coverage GROUP BY batch_id) c "
                "WHERE b.batch_id = c.batch_id AND (SELECT count(*) FROM src.audit.batch_coverage s "
                "WHERE s.batch_id = b.batch_id) > (SELECT count(*) FROM audit.batch_coverage s "
                "WHERE s.batch_id = b.batch_id)"
            )
    if ("audit", "dq_results") in tables:
        for col, trim in (("observed_value", _trim_observed), ("message", _trim_text)):
            if col not in _columns(con, "audit", "dq_results"):
                continue
            for (text,) in con.execute(
                f"SELECT DISTINCT {col} FROM audit.dq_results WHERE {col} IS NOT NULL"
            ).fetchall():
                if (cut := trim(text, outside)) != text:
                    con.execute(f"UPDATE audit.dq_results SET {col} = ? WHERE {col} = ?", [cut, text])


def _recount_closes(con: duckdb.DuckDBPyConnection, outside: set[str]) -> None:
    """A close counts the city's KPI rows and batches: in a scoped copy, the scope's; a close's note that
    names an org outside the scope loses that part."""
    for table in ("closed.closes", "closed.kpi_values"):
        for (note,) in con.execute(f"SELECT DISTINCT note FROM {table} WHERE note IS NOT NULL").fetchall():
            if (cut := _trim_text(note, outside)) != note:
                con.execute(f"UPDATE {table} SET note = ? WHERE note = ?", [cut, note])
    con.execute(
        "UPDATE closed.closes c SET "
        "kpi_rows = (SELECT count(*) FROM closed.kpi_values k WHERE k.closed_month = c.closed_month "
        "AND k.revision = c.revision), "
        "batches = (SELECT count(DISTINCT b.batch_id) FROM closed.batches b WHERE b.closed_month = c.closed_month "
        "AND b.revision = c.revision)"
    )


def scoped_path(folder: Path, scope: Scope) -> Path:
    return folder / SCOPES_DIR / scope.key / "warehouse.duckdb"


def default_scopes() -> list[Scope]:
    """The scopes of the enabled users that have one (other scopes are made on first use)."""
    from medcom.access.users import all_users

    return sorted({u.scope for u in all_users() if not u.scope.is_all and not u.disabled}, key=str)


def publish_scoped(folder: Path, scopes: list[Scope] | None = None) -> list[Path]:
    """Scoped copies of the snapshot in `folder` (called by `warehouse.publish` before CURRENT moves)."""
    from medcom import progress

    src = folder / "warehouse.duckdb"
    todo = scopes if scopes is not None else default_scopes()
    out: list[Path] = []
    if not todo:
        return out
    with progress.step("scope copies", total=len(todo), unit="copies") as step:
        for scope in todo:
            # a user's scope the new data no longer has is skipped here (and refused on use)
            with contextlib.suppress(LookupError):
                out.append(build_scoped(src, scoped_path(folder, scope), scope))
            step.advance(1, detail=str(scope))
    return out


def scoped_snapshot(scope: Scope) -> Path:
    """The current snapshot's copy for `scope`, made on first use (under a lock)."""
    from medcom.errors import MedcomError
    from warehouse import current_snapshot

    snap = current_snapshot()
    if snap is None:
        raise MedcomError("no published warehouse yet: run `medcom ingest` and `medcom build` first")
    # a snapshot folder (published/warehouse-<ts>/warehouse.duckdb) holds its scoped copies; a bare
    # snapshot file (older layout, test fixtures) gets a folder of its own beside it
    folder = snap.parent if snap.name == "warehouse.duckdb" else snap.parent / f".scopes-{snap.stem}"
    dest = scoped_path(folder, scope)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent.parent / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            if not dest.exists():
                try:
                    build_scoped(snap, dest, scope)
                except LookupError as exc:
                    shutil.rmtree(dest.parent, ignore_errors=True)
                    raise MedcomError(str(exc)) from None
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return dest


def connect_scoped(scope: Scope) -> duckdb.DuckDBPyConnection:
    """Read-only connection (reader settings) to the scope's snapshot; the full one for the whole warehouse."""
    from warehouse import connect_reader, reader_config

    if scope.is_all:
        return connect_reader()
    return duckdb.connect(str(scoped_snapshot(scope)), read_only=True, config=reader_config())
