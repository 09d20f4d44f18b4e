"""The `closed` schema: closes, their frozen KPI rows and the batches they rest on.

Written only by `close_month` (under the writer lock); read through any reader connection.

- `closed.closes` — one row per close: closed_month, revision, closed_at (UTC), closed_by,
  note, snapshot (the published snapshot the figures were copied from), kpi_rows, batches.
- `closed.kpi_values` — closed_month, revision, closed_at, note and the `marts.kpi_values`
  columns, for every revision (revisions never overwrite each other). Its org_level / org_id
  columns are those of kpi_values, so a scope filter written for kpi_values applies as is.
- `closed.batches` — closed_month, revision, feed, batch_id, coverage, received_at: the
  batches behind the figures (activity batches read from the marts facts' `_batch_id`,
  reference snapshots from the current raw rows).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from medcom.errors import MedcomError, UsageError

KPI_COLUMNS = (
    "kpi_code",
    "org_level",
    "org_id",
    "period_type",
    "period",
    "numerator",
    "denominator",
    "value",
    "target",
    "direction",
    "status",
)

DDL = [
    "CREATE SCHEMA IF NOT EXISTS closed",
    """CREATE TABLE IF NOT EXISTS closed.closes (
        closed_month DATE, revision INTEGER, closed_at TIMESTAMP, closed_by VARCHAR, note VARCHAR,
        snapshot VARCHAR, kpi_rows BIGINT, batches BIGINT)""",
    """CREATE TABLE IF NOT EXISTS closed.kpi_values (
        closed_month DATE, revision INTEGER, closed_at TIMESTAMP, note VARCHAR,
        kpi_code VARCHAR, org_level VARCHAR, org_id VARCHAR, period_type VARCHAR, period DATE,
        numerator DOUBLE, denominator DOUBLE, value DOUBLE, target DOUBLE, direction VARCHAR, status VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS closed.batches (
        closed_month DATE, revision INTEGER, feed VARCHAR, batch_id VARCHAR, coverage VARCHAR,
        received_at TIMESTAMP)""",
]


class CloseRefused(UsageError):
    """A close that cannot be done (plain reason)."""


@dataclass(frozen=True)
class CloseResult:
    month: date
    revision: int
    closed_at: datetime
    closed_by: str
    note: str | None
    kpi_rows: int
    batches: int
    snapshot: str


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the `closed` tables (idempotent); called by every build so each snapshot has them."""
    for ddl in DDL:
        con.execute(ddl)


def parse_month(text: str) -> date:
    try:
        d = datetime.strptime(text.strip(), "%Y-%m")
    except (ValueError, AttributeError):
        raise UsageError(f"'{text}' is not a month: write it as YYYY-MM, e.g. 2021-03") from None
    return date(d.year, d.month, 1)


def current_user() -> str:
    return os.environ.get("MEDCOM_USER") or getpass.getuser()


def month_rows_sql(schema: str) -> str:
    """The kpi_values rows a close of month ? freezes: month and YTD rows of the month, and the
    year rows the scorecard shows with it (that year and the year before). Params: month, year
    start, previous year start."""
    return (
        f"SELECT {', '.join(KPI_COLUMNS)} FROM {schema}.kpi_values "
        "WHERE (period_type IN ('month', 'ytd') AND period = ?) OR (period_type = 'year' AND period IN (?, ?))"
    )


def month_params(month: date) -> list:
    return [month, date(month.year, 1, 1), date(month.year - 1, 1, 1)]


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = ?", [catalog]
    ).fetchall()
    return {(s, n) for s, n in rows}


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ? "
        "AND table_name = ?",
        [catalog, schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def batches_sql(con: duckdb.DuckDBPyConnection, catalog: str) -> str | None:
    """SQL listing (feed, batch_id) behind the figures of a database: for each feed, the distinct
    `_batch_id` of its marts fact table when there is one, else of its current raw rows."""
    tables = _tables(con, catalog)
    parts = []
    for schema, name in sorted(tables):
        if schema != "raw":
            continue
        feed = name
        fact = ("marts", f"fct_{feed}")
        if fact in tables and "_batch_id" in _columns(con, catalog, *fact):
            parts.append(f"SELECT DISTINCT '{feed}' AS feed, _batch_id AS batch_id FROM {catalog}.marts.fct_{feed}")
        elif "_superseded_by" in _columns(con, catalog, "raw", feed):
            parts.append(
                f"SELECT DISTINCT '{feed}' AS feed, _batch_id AS batch_id FROM {catalog}.raw.{feed} "
                "WHERE _superseded_by IS NULL"
            )
    if not parts:  # a snapshot without raw tables: the marts facts alone
        for schema, name in sorted(tables):
            if schema == "marts" and name.startswith("fct_") and "_batch_id" in _columns(con, catalog, schema, name):
                feed = name.removeprefix("fct_")
                parts.append(f"SELECT DISTINCT '{feed}' AS feed, _batch_id AS batch_id FROM {catalog}.marts.{name}")
    return " UNION ALL ".join(parts) if parts else None


def close_month(month: date, note: str | None = None, user: str | None = None, echo=print) -> CloseResult:
    """Freeze the published KPI rows of `month` as a new revision, then publish."""
    import warehouse

    snap = warehouse.current_snapshot()
    if snap is None:
        raise CloseRefused("nothing to close: no published warehouse yet (run `medcom ingest` and `medcom build`)")
    note = (note or "").strip() or None
    user = user or current_user()
    with warehouse.writer_lock():
        con = warehouse.open_writer()
        try:
            ensure_schema(con)
            con.execute(f"ATTACH '{snap}' AS snap (READ_ONLY)")
            try:
                result = _close(con, month, note, user, snap.parent.name)
            finally:
                con.execute("DETACH snap")
        finally:
            con.close()
        warehouse.publish()
    echo(
        f"closed {month:%Y-%m} revision {result.revision}: {result.kpi_rows:,} KPI rows "
        f"(month, YTD and year rows) resting on {result.batches:,} batches; "
        f"by {result.closed_by} at {result.closed_at:%Y-%m-%d %H:%M} UTC"
    )
    return result


def _close(con: duckdb.DuckDBPyConnection, month: date, note: str | None, user: str, snapshot: str) -> CloseResult:
    if ("marts", "kpi_values") not in _tables(con, "snap"):
        raise CloseRefused("nothing to close: the published warehouse has no KPI values yet (run `medcom build`)")
    latest = con.execute("SELECT max(period) FROM snap.marts.kpi_values WHERE period_type = 'month'").fetchone()[0]
    if latest is None:
        raise CloseRefused("nothing to close: the published warehouse has no monthly KPI values yet")
    if month > latest:
        raise CloseRefused(
            f"cannot close {month:%Y-%m}: it is after the latest loaded month, {latest:%Y-%m}; "
            "load and build that month first"
        )
    has_month = con.execute(
        "SELECT count(*) FROM snap.marts.kpi_values WHERE period_type IN ('month', 'ytd') AND period = ?", [month]
    ).fetchone()[0]
    if not has_month:
        raise CloseRefused(f"cannot close {month:%Y-%m}: there are no KPI values for that month")
    previous = con.execute("SELECT max(revision) FROM closed.closes WHERE closed_month = ?", [month]).fetchone()[0]
    revision = int(previous or 0) + 1
    if revision > 1 and not note:
        raise CloseRefused(
            f"{month:%Y-%m} is already closed (revision {revision - 1}); closing it again makes revision "
            f"{revision} and needs a note saying why: --note TEXT"
        )
    closed_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"INSERT INTO closed.kpi_values SELECT ?, ?, ?, ?, * FROM ({month_rows_sql('snap.marts')})",
            [month, revision, closed_at, note, *month_params(month)],
        )
        rows = con.execute(
            "SELECT count(*) FROM closed.kpi_values WHERE closed_month = ? AND revision = ?", [month, revision]
        ).fetchone()[0]
        batches = 0
        src = batches_sql(con, "snap")
        if src:
            audit = ("audit", "ingest_batches") in _tables(con, "snap")
            join = (
                "LEFT JOIN snap.audit.ingest_batches a USING (batch_id)"
                if audit
                else "LEFT JOIN (SELECT NULL::VARCHAR AS batch_id, NULL::VARCHAR AS coverage, "
                "NULL::TIMESTAMP AS received_at) a USING (batch_id)"
            )
            con.execute(
                f"INSERT INTO closed.batches SELECT ?, ?, b.feed, b.batch_id, a.coverage, a.received_at "
                f"FROM ({src}) b {join} WHERE b.batch_id IS NOT NULL",
                [month, revision],
            )
            batches = con.execute(
                "SELECT count(*) FROM closed.batches WHERE closed_month = ? AND revision = ?", [month, revision]
            ).fetchone()[0]
        con.execute(
            "INSERT INTO closed.closes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [month, revision, closed_at, user, note, snapshot, rows, batches],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return CloseResult(month, revision, closed_at, user, note, int(rows), int(batches), snapshot)


def _closed_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'closed'").fetchall()
    return {r[0] for r in rows}


def has_closes(con: duckdb.DuckDBPyConnection) -> bool:
    return bool({"closes", "kpi_values"} & _closed_tables(con))


def closes_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The closes as a relation: `closed.closes`, or — in a copy that holds only the (scoped)
    `closed.kpi_values` — the closes named by its rows (closed_by, snapshot, counts unknown)."""
    if "closes" in _closed_tables(con):
        return "closed.closes"
    return (
        "(SELECT closed_month, revision, closed_at, NULL::VARCHAR AS closed_by, note, NULL::VARCHAR AS snapshot, "
        "count(*) AS kpi_rows, NULL::BIGINT AS batches FROM closed.kpi_values GROUP BY ALL)"
    )


def list_closes(con: duckdb.DuckDBPyConnection):
    """Every close, newest month first, revisions in order (a DataFrame; empty without closes)."""
    import pandas as pd

    if not has_closes(con):
        return pd.DataFrame(
            columns=["closed_month", "revision", "closed_at", "closed_by", "note", "snapshot", "kpi_rows", "batches"]
        )
    return con.execute(f"SELECT * FROM {closes_sql(con)} ORDER BY closed_month DESC, revision").df()


def latest_revision(con: duckdb.DuckDBPyConnection, month: date) -> dict | None:
    """The newest close of a month ({closed_month, revision, closed_at, closed_by, note, …}) or None."""
    if not has_closes(con):
        return None
    sql = f"SELECT * FROM {closes_sql(con)} WHERE closed_month = ? ORDER BY revision DESC LIMIT 1"
    df = con.execute(sql, [month]).df()
    return None if df.empty else df.iloc[0].to_dict()


def closed_rows(con: duckdb.DuckDBPyConnection, month: date, revision: int | None = None):
    """The frozen kpi_values rows of a close (the newest revision unless one is named)."""
    import pandas as pd

    if revision is None:
        rev = latest_revision(con, month)
        if rev is None:
            return pd.DataFrame(columns=list(KPI_COLUMNS))
        revision = int(rev["revision"])
    cols = ", ".join(KPI_COLUMNS)
    return con.execute(
        f"SELECT {cols} FROM closed.kpi_values WHERE closed_month = ? AND revision = ?", [month, revision]
    ).df()


def current_rows(con: duckdb.DuckDBPyConnection, month: date):
    """Today's kpi_values rows of the kind a close of `month` freezes."""
    return con.execute(month_rows_sql("marts"), month_params(month)).df()


def require_month_known(con: duckdb.DuckDBPyConnection, month: date) -> None:
    row = con.execute(
        "SELECT count(*) FROM marts.kpi_values WHERE period_type IN ('month', 'ytd') AND period = ?", [month]
    ).fetchone()
    if not row or not row[0]:
        raise MedcomError(f"there are no KPI values for {month:%Y-%m}")
