"""KPI cells: the scorecard's values, trends, levels, period types and peer distributions (scope-filtered)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboards.queries.dates import as_date
from dashboards.queries.orgs import LEVEL_ORDER, Org
from medcom.closing.store import KPI_COLUMNS

PERIOD_PREFERENCE = {"month": ("month", "ytd", "year"), "ytd": ("ytd", "month", "year")}
CELL_COLUMNS = list(KPI_COLUMNS)  # the kpi_values columns of a cell: one list, medcom.closing.store


class KpiQueries:
    def months(self) -> list[date]:
        rows = self.con.execute(
            "SELECT DISTINCT period FROM marts.kpi_values WHERE period_type = 'month' ORDER BY period"
        ).fetchall()
        return [as_date(r[0]) for r in rows]

    def latest_month(self) -> date | None:
        m = self.months()
        return m[-1] if m else None

    def cells(
        self,
        orgs: list[Org],
        month: date,
        period_type: str = "month",
        families: tuple[str, ...] | None = None,
        source: str = "marts.kpi_values",
    ) -> pd.DataFrame:
        """One row per KPI × org for the month: requested period type, else the KPI's own
        period (month/ytd), else the latest annual value of that year or before. `source`: a
        kpi_values-shaped relation (the closed figures of a month: `closes.closed_cells`)."""
        orgs = [x for x in orgs if self.in_scope(x.level, x.id)]
        if not orgs:
            return pd.DataFrame(columns=CELL_COLUMNS)
        pairs = pd.DataFrame({"org_level": [x.level for x in orgs], "org_id": [x.id for x in orgs]})
        self.con.register("_orgs", pairs)
        try:
            df = self.df(
                f"""
                SELECT {", ".join("k." + c for c in CELL_COLUMNS)}
                FROM {source} k JOIN _orgs o USING (org_level, org_id)
                WHERE (k.period_type IN ('month', 'ytd') AND k.period = ?)
                   OR (k.period_type = 'year' AND k.period <= ? AND k.period >= ?)
                """,
                [month, date(month.year, 1, 1), date(month.year - 1, 1, 1)],
            )
        finally:
            self.con.unregister("_orgs")
        if df.empty:
            return df
        pref = PERIOD_PREFERENCE.get(period_type, PERIOD_PREFERENCE["month"])
        df["_rank"] = df.period_type.map({p: i for i, p in enumerate(pref)})
        df["_p"] = pd.to_datetime(df.period)
        df = df.sort_values(["_rank", "_p"], ascending=[True, False])
        # a KPI's period type is chosen once for all orgs (so a row never mixes month and ytd)
        chosen = df.groupby("kpi_code")["_rank"].min().rename("_best")
        df = df.join(chosen, on="kpi_code")
        df = df[df._rank == df._best].drop_duplicates(["kpi_code", "org_level", "org_id"])
        if families:
            fam = self.kpis().set_index("kpi_code").family
            df = df[df.kpi_code.map(fam).isin(families)]
        return self.with_quality(df.drop(columns=["_rank", "_p", "_best"]).reset_index(drop=True))

    def trend(self, code: str, level: str, org_id: str, period_type: str = "month") -> pd.DataFrame:
        if not self.in_scope(level, org_id):
            return pd.DataFrame()
        df = self.df(
            "SELECT period_type, period, numerator, denominator, value, target, status FROM marts.kpi_values "
            "WHERE kpi_code = ? AND org_level = ? AND org_id = ? ORDER BY period_type, period",
            [code, level, org_id],
        )
        if df.empty:
            return df
        types = list(df.period_type.unique())
        pt = period_type if period_type in types else ("month" if "month" in types else types[0])
        df = df[df.period_type == pt].reset_index(drop=True)
        q = self.with_quality(df.assign(kpi_code=code, org_level=level, org_id=org_id))
        return q.drop(columns=["kpi_code", "org_level", "org_id"])

    def kpi_levels(self, code: str) -> list[str]:
        rows = self.con.execute("SELECT DISTINCT org_level FROM marts.kpi_values WHERE kpi_code = ?", [code]).fetchall()
        return sorted((r[0] for r in rows), key=lambda x: LEVEL_ORDER.get(x, 9))

    def kpi_period_types(self, code: str) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT period_type FROM marts.kpi_values WHERE kpi_code = ?", [code]
        ).fetchall()
        return [p for p in ("month", "ytd", "year") if p in {r[0] for r in rows}]

    def peers(self, code: str, level: str, period: date, period_type: str) -> pd.DataFrame:
        """The KPI at every in-scope org of `level` (a county user's peers are the county's own units)."""
        df = self.df(
            "SELECT k.org_id, o.name, k.numerator, k.denominator, k.value, k.target, k.status "
            "FROM marts.kpi_values k LEFT JOIN marts.dim_org o ON o.org_level = k.org_level AND o.org_id = k.org_id "
            "WHERE k.kpi_code = ? AND k.org_level = ? AND k.period_type = ? AND k.period = ? ORDER BY k.value DESC",
            [code, level, period_type, period],
        )
        return self.scope_filter(df, level, "org_id")
