"""The data quality behind KPI cells, read from marts.kpi_cell_quality (outputs.md "Trust in each
number"): one function for every output that shows a cell (dashboard, XLSX, report, bulletin PDF)."""

from __future__ import annotations

import duckdb
import pandas as pd

QUALITY_COLUMNS = [
    "expected_deliveries",
    "accepted_deliveries",
    "late_deliveries",
    "completeness",
    "rows_quarantined",
    "quarantine_share",
    "failed_expectations",
    "missing",
    "warnings",
    "warnings_zh",
    "provisional",
]
KEY = ["kpi_code", "org_level", "org_id", "period_type", "period"]


def _has_mart(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'marts' AND table_name = 'kpi_cell_quality'"
        ).fetchone()[0]
    )


def with_quality(con: duckdb.DuckDBPyConnection, cells: pd.DataFrame) -> pd.DataFrame:
    """`cells` (columns kpi_code, org_level, org_id, period_type, period) with the quality columns;
    `provisional` False where the mart has no row (a KPI without a dense source feed, or a warehouse
    built before the mart existed)."""
    if cells.empty or not _has_mart(con):
        return cells.assign(provisional=False) if not cells.empty else cells
    df = cells.copy()
    keys = df[KEY].drop_duplicates()
    keys["period"] = pd.to_datetime(keys.period).dt.date
    con.register("_cellkeys", keys)
    try:
        q = con.execute(
            f"SELECT q.{', q.'.join(KEY + QUALITY_COLUMNS)} FROM marts.kpi_cell_quality q "
            "JOIN _cellkeys k USING (kpi_code, org_level, org_id, period_type, period)"
        ).df()
    finally:
        con.unregister("_cellkeys")
    df["_period_d"] = pd.to_datetime(df.period).dt.date
    q["_period_d"] = pd.to_datetime(q.period).dt.date
    out = df.merge(q.drop(columns=["period"]), on=[*KEY[:4], "_period_d"], how="left").drop(columns="_period_d")
    out["provisional"] = out.provisional.fillna(False).astype(bool)
    return out
