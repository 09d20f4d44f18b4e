"""Data quality behind each KPI cell (marts.kpi_cell_quality, outputs.md "Trust in each number")."""

from __future__ import annotations

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


class TrustQueries:
    def with_quality(self, cells: pd.DataFrame) -> pd.DataFrame:
        """`cells` (columns kpi_code, org_level, org_id, period_type, period) with the quality
        columns; `provisional` False where the mart has no row (a KPI without a dense source feed,
        or a warehouse built before the mart existed)."""
        if cells.empty or not self.has("marts", "kpi_cell_quality"):
            return cells.assign(provisional=False) if not cells.empty else cells
        df = cells.copy()
        keys = df[KEY].drop_duplicates()
        keys["period"] = pd.to_datetime(keys.period).dt.date
        self.con.register("_cellkeys", keys)
        try:
            q = self.df(
                f"SELECT q.{', q.'.join(KEY + QUALITY_COLUMNS)} FROM marts.kpi_cell_quality q "
                "JOIN _cellkeys k USING (kpi_code, org_level, org_id, period_type, period)"
            )
        finally:
            self.con.unregister("_cellkeys")
        df["_period_d"] = pd.to_datetime(df.period).dt.date
        q["_period_d"] = pd.to_datetime(q.period).dt.date
        out = df.merge(q.drop(columns=["period"]), on=[*KEY[:4], "_period_d"], how="left").drop(columns="_period_d")
        out["provisional"] = out.provisional.fillna(False).astype(bool)
        return out
