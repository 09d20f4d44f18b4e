"""Data quality behind each KPI cell (marts.kpi_cell_quality, outputs.md "Trust in each number")."""

from __future__ import annotations

import pandas as pd

from medcom.cell_quality import KEY, QUALITY_COLUMNS, with_quality

__all__ = ["KEY", "QUALITY_COLUMNS", "TrustQueries"]


class TrustQueries:
    def with_quality(self, cells: pd.DataFrame) -> pd.DataFrame:
        """`cells` with the quality columns of their marts.kpi_cell_quality rows (medcom.cell_quality)."""
        return with_quality(self.con, cells)
