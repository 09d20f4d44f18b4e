"""Supervision lists: open inspections and overdue complaints at a month's end (scope-filtered by county)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboards.queries.dates import month_end as _month_end


class SupervisionQueries:
    def open_inspections(self, as_of: date) -> pd.DataFrame:
        """Inspections planned up to the month that were not completed by its last day."""
        end = _month_end(as_of)
        df = self._read_if_present(
            "marts",
            "fct_inspections",
            "SELECT i.inspection_id, i.facility_id, o.name AS facility_name, o.county_code, i.kind, i.planned_month "
            "FROM marts.fct_inspections i LEFT JOIN marts.dim_org o ON o.org_level = 'facility' "
            "AND o.org_id = i.facility_id WHERE i.planned_month <= ? AND (i.completed_date IS NULL "
            "OR i.completed_date > ?) ORDER BY i.planned_month, i.inspection_id",
            [as_of, end],
        )
        return self.scope_filter(df, "county", "county_code")

    def _region_filter(self, df: pd.DataFrame, col: str) -> pd.DataFrame:
        """Rows whose `col` is an in-scope county, city or province code (complaints may carry a
        city's or the province's own code)."""
        if df.empty:
            return df.reset_index(drop=True)
        keep = [any(self.in_scope(lvl, str(c)) for lvl in ("county", "city", "province")) for c in df[col]]
        return df[keep].reset_index(drop=True)

    def overdue_complaints(self, as_of: date) -> pd.DataFrame:
        """Complaints past their due date and not closed by the month's last day."""
        end = _month_end(as_of)
        df = self._read_if_present(
            "marts",
            "fct_complaints",
            "SELECT c.complaint_id, c.county_code, c.facility_id, c.received_date, c.due_date, "
            "date_diff('day', c.due_date, ?::DATE) AS days_overdue FROM marts.fct_complaints c "
            "WHERE c.due_date < ? AND c.received_date <= ? AND (c.closed_date IS NULL OR c.closed_date > ?) "
            "ORDER BY c.due_date",
            [end, end, end, end],
        )
        return self._region_filter(df, "county_code")
