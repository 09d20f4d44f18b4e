"""Restatements: cells whose current value or status differs from the closed one.

For each closed month, the newest revision's frozen rows are compared with today's
`marts.kpi_values` rows of the same kind (value compared rounded to 9 decimals, as status
is; a cell that appeared or disappeared also counts). Each restated cell names the
correction batches behind the change: batches the current figures rest on that the close
did not, of a feed the KPI is computed from (or `targets`, when the target moved), whose
coverage touches the cell's period (its month, the months of its YTD, or its year).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from medcom.closing.store import KPI_COLUMNS, _closed_tables, batches_sql, closes_sql, has_closes

KEY = ["kpi_code", "org_level", "org_id", "period_type", "period"]
COLUMNS = [
    "closed_month",
    "revision",
    "closed_at",
    *KEY,
    "old_value",
    "new_value",
    "old_status",
    "new_status",
    "old_target",
    "new_target",
    "batches",
]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)


def restatements(con: duckdb.DuckDBPyConnection, month: date | None = None) -> pd.DataFrame:
    """Restated cells of every closed month (or of `month`), against its newest revision."""
    if not has_closes(con):
        return _empty()
    cols = ", ".join(f"c.{c}" for c in KPI_COLUMNS)
    where = "WHERE l.closed_month = ?" if month else ""
    params = [month] if month else []
    sql = f"""
        WITH latest AS (
            SELECT closed_month, max(revision) AS revision FROM {closes_sql(con)} GROUP BY closed_month
        ), frozen AS (
            SELECT c.closed_month, c.revision, c.closed_at, {cols}
            FROM closed.kpi_values c JOIN latest l USING (closed_month, revision) {where}
        ), months AS (SELECT DISTINCT closed_month, revision, closed_at FROM frozen),
        current_rows AS (
            SELECT m.closed_month, m.revision, m.closed_at, k.*
            FROM months m JOIN marts.kpi_values k
              ON (k.period_type IN ('month', 'ytd') AND k.period = m.closed_month)
              OR (k.period_type = 'year' AND k.period IN (date_trunc('year', m.closed_month),
                                                          date_trunc('year', m.closed_month) - INTERVAL 1 YEAR))
        )
        SELECT coalesce(f.closed_month, n.closed_month) AS closed_month,
               coalesce(f.revision, n.revision) AS revision,
               coalesce(f.closed_at, n.closed_at) AS closed_at,
               coalesce(f.kpi_code, n.kpi_code) AS kpi_code,
               coalesce(f.org_level, n.org_level) AS org_level,
               coalesce(f.org_id, n.org_id) AS org_id,
               coalesce(f.period_type, n.period_type) AS period_type,
               coalesce(f.period, n.period) AS period,
               f.value AS old_value, n.value AS new_value,
               f.status AS old_status, n.status AS new_status,
               f.target AS old_target, n.target AS new_target
        FROM frozen f FULL OUTER JOIN current_rows n
          ON f.closed_month = n.closed_month AND f.kpi_code = n.kpi_code AND f.org_level = n.org_level
         AND f.org_id = n.org_id AND f.period_type = n.period_type AND f.period = n.period
        WHERE f.kpi_code IS NULL OR n.kpi_code IS NULL
           OR round(f.value, 9) IS DISTINCT FROM round(n.value, 9)
           OR f.status IS DISTINCT FROM n.status
        ORDER BY closed_month, kpi_code, org_level, org_id, period_type, period
    """
    df = con.execute(sql, params).df()
    if df.empty:
        return _empty()
    df["period"] = pd.to_datetime(df.period).dt.date
    df["closed_month"] = pd.to_datetime(df.closed_month).dt.date
    df["batches"] = _attribute(con, df)
    return df[COLUMNS].reset_index(drop=True)


def new_batches(con: duckdb.DuckDBPyConnection, month: date, revision: int) -> pd.DataFrame:
    """Batches today's figures rest on that the close (month, revision) did not: feed, batch_id,
    coverage, received_at."""
    src = batches_sql(con, con.execute("SELECT current_database()").fetchone()[0])
    if not src or "batches" not in _closed_tables(con):  # a copy without the closes' batch lists
        return pd.DataFrame(columns=["feed", "batch_id", "coverage", "received_at"])
    return con.execute(
        f"""
        SELECT b.feed, b.batch_id, a.coverage, a.received_at
        FROM ({src}) b LEFT JOIN audit.ingest_batches a USING (batch_id)
        WHERE b.batch_id IS NOT NULL AND b.batch_id NOT IN (
            SELECT batch_id FROM closed.batches WHERE closed_month = ? AND revision = ?)
        ORDER BY a.received_at, b.batch_id
        """,
        [month, revision],
    ).df()


def cell_window(period_type: str, period: date) -> tuple[date, date]:
    """First and last month a cell's figure covers."""
    if period_type == "month":
        return period, period
    if period_type == "ytd":
        return date(period.year, 1, 1), period
    return date(period.year, 1, 1), date(period.year, 12, 1)


def coverage_touches(coverage: str | None, start: date, end: date) -> bool:
    """Whether a batch's coverage text ("411025:2021-03, …", "C1:2021", "2021", "all") reaches a
    month in [start, end]. Unknown coverage counts as touching."""
    if not coverage or not isinstance(coverage, str):
        return True
    for token in coverage.split(","):
        token = token.strip()
        if not token:
            continue
        if token == "all":
            return True
        part = token.rsplit(":", 1)[-1]
        try:
            if len(part) == 7:
                m = date(int(part[:4]), int(part[5:7]), 1)
                if start <= m <= end:
                    return True
            elif len(part) == 4:
                y = int(part)
                if start.year <= y <= end.year:
                    return True
            else:
                return True
        except ValueError:
            return True
    return False


def _kpi_feeds(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute("SELECT kpi_code, source_feeds FROM marts.dim_kpi").fetchall()
    return {code: set((feeds or "").split()) for code, feeds in rows}


def _attribute(con: duckdb.DuckDBPyConnection, cells: pd.DataFrame) -> list[list[str]]:
    feeds = _kpi_feeds(con)
    cache: dict[tuple, pd.DataFrame] = {}
    out = []
    for r in cells.itertuples():
        key = (r.closed_month, int(r.revision))
        if key not in cache:
            cache[key] = new_batches(con, *key)
        fresh = cache[key]
        wanted = set(feeds.get(r.kpi_code, set()))
        if _differs(r.old_target, r.new_target) or r.old_status != r.new_status:
            wanted.add("targets")
        start, end = cell_window(r.period_type, r.period)
        ids = [b.batch_id for b in fresh.itertuples() if b.feed in wanted and coverage_touches(b.coverage, start, end)]
        out.append(ids)
    return out


def _differs(a, b) -> bool:
    na, nb = pd.isna(a), pd.isna(b)
    if na or nb:
        return na != nb
    return round(float(a), 9) != round(float(b), 9)
