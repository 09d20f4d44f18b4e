"""Monthly closes: the closed figures of a month, restated cells and the revision log (scope-filtered).

The closed figures are `closed.kpi_values` of the month's newest revision (medcom/closing); a
snapshot published before the first close has the empty tables, an older one none (then nothing
is closed)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboards.queries.orgs import Org
from medcom.closing.restatements import restatements
from medcom.closing.store import KPI_COLUMNS, has_closes, latest_revision, list_closes


class CloseQueries:
    def has_closes(self) -> bool:
        return has_closes(self.con)

    def closes(self) -> pd.DataFrame:
        """Every close: closed_month, revision, closed_at, closed_by, note, kpi_rows, batches."""
        return list_closes(self.con).sort_values(["closed_month", "revision"], ascending=False)

    def close_of(self, month: date) -> dict | None:
        """The newest close of the month, or None when it is not closed."""
        return latest_revision(self.con, month)

    def closed_cells(
        self, orgs: list[Org], month: date, period_type: str = "month", families: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        """`cells()` of the month as closed (newest revision); empty when the month is not closed."""
        close = self.close_of(month)
        if close is None:
            return pd.DataFrame(columns=list(KPI_COLUMNS))
        src = (
            f"(SELECT {', '.join(KPI_COLUMNS)} FROM closed.kpi_values "
            f"WHERE closed_month = DATE '{month:%Y-%m-%d}' AND revision = {int(close['revision'])})"
        )
        return self.cells(orgs, month, period_type, families, source=src)

    def restated(self, month: date | None = None) -> pd.DataFrame:
        """Restated cells (closed vs current) of the closed months (or one), in scope, with the
        correction batches' file names (`files`)."""
        df = restatements(self.con, month)
        if df.empty:
            df["files"] = []
            return df
        keep = [self.in_scope(lv, str(oid)) for lv, oid in zip(df.org_level, df.org_id, strict=True)]
        df = df[keep].reset_index(drop=True)
        names = (
            dict(self.con.execute("SELECT batch_id, file_name FROM audit.ingest_batches").fetchall())
            if self.has("audit", "ingest_batches")
            else {}
        )
        df["files"] = [[names.get(b) or b for b in bs] for bs in df.batches]
        return df

    def closed_history(self, code: str, level: str, org_id: str) -> pd.DataFrame:
        """Every closed value of one KPI cell: closed_month, revision, closed_at, period_type, period,
        value, target, status (for the KPI detail page)."""
        if not self.has_closes() or not self.in_scope(level, org_id):
            return pd.DataFrame()
        return self.df(
            "SELECT closed_month, revision, closed_at, period_type, period, value, target, status "
            "FROM closed.kpi_values WHERE kpi_code = ? AND org_level = ? AND org_id = ? "
            "ORDER BY closed_month, revision, period_type",
            [code, level, org_id],
        )
