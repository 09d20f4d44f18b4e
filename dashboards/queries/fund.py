"""Insurance fund: per community and month spend, pro-rated budget, prepayments and the year-end projection."""

from __future__ import annotations

import pandas as pd


class FundQueries:
    def fund(self, year: int) -> dict[str, pd.DataFrame]:
        """Per community and month of the year: spend, pro-rated budget, prepayments (monthly and
        cumulative), annual budget, execution rate and projected year-end balance (结余 > 0, 超支 < 0);
        `summary` = the latest month per community plus county, city and province roll-ups (sums);
        column `city` names each row's city (empty for the province).

        Read from `marts.fct_fund_monthly`; without it, derived from `fund_budget_execution`
        (numerator = spend, denominator = pro-rated budget) and `marts.fct_fund_prepayments`,
        with the same projection: budget − spend_ytd × 12 / months elapsed.
        """
        empty = {"monthly": pd.DataFrame(), "summary": pd.DataFrame()}
        df = self._fund_monthly(year) if self.has("marts", "fct_fund_monthly") else self._fund_from_kpis(year)
        if df.empty:
            return empty
        df["org_id"] = df.org_id.astype(str)
        df = df[[self.in_scope("community", x) for x in df.org_id]].copy()
        if df.empty:
            return empty
        df["period"] = pd.to_datetime(df.period)
        for c in (
            "spend",
            "budget_month",
            "spend_ytd",
            "budget_ytd",
            "prepaid",
            "prepaid_ytd",
            "annual_budget",
            "execution",
            "projected_balance",
        ):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        df["county"] = [self.county_of("community", x) for x in df.org_id]
        df["name"] = [self.name("community", x) for x in df.org_id]
        df = df.sort_values(["org_id", "period"]).reset_index(drop=True)
        last = df.groupby("org_id").tail(1)
        summary = last[
            [
                "county",
                "org_id",
                "name",
                "period",
                "annual_budget",
                "spend_ytd",
                "budget_ytd",
                "prepaid_ytd",
                "execution",
                "projected_balance",
            ]
        ].copy()
        summary["level"] = "community"
        rolls = [_rollup(g, "county", county, self.name("county", county)) for county, g in summary.groupby("county")]
        for lvl in ("city", "province"):  # totals for viewers who see a whole city / the province
            for c in self.scope_orgs(lvl):
                mine = summary[[(lvl, c.id) in self.lineage("community", x) for x in summary.org_id]]
                rolls.append(_rollup(mine, lvl, c.id, c.name))
        summary = pd.concat([summary, pd.DataFrame(rolls)], ignore_index=True)
        summary["city"] = [self._city_of(lv, x) for lv, x in zip(summary.level, summary.org_id, strict=True)]
        summary["_o"] = summary.level.map({"community": 0, "county": 1, "city": 2, "province": 3})
        summary = summary.sort_values(["_o", "county", "org_id"]).drop(columns="_o").reset_index(drop=True)
        return {"monthly": df, "summary": summary}

    def _fund_monthly(self, year: int) -> pd.DataFrame:
        return self.df(
            "SELECT community_id AS org_id, month AS period, spend, budget_month, spend_ytd, budget_ytd, "
            "prepayment AS prepaid, prepayment_ytd AS prepaid_ytd, budget AS annual_budget, "
            "execution_rate_ytd AS execution, projected_balance FROM marts.fct_fund_monthly "
            "WHERE year(month) = ? ORDER BY community_id, month",
            [year],
        )

    def _fund_from_kpis(self, year: int) -> pd.DataFrame:
        kv = self.df(
            "SELECT org_id, period_type, period, numerator, denominator FROM marts.kpi_values "
            "WHERE kpi_code = 'fund_budget_execution' AND year(period) = ? AND period_type IN ('month', 'ytd') "
            "AND org_level = 'community'",
            [year],
        )
        if kv.empty:
            return kv
        kv["period"] = pd.to_datetime(kv.period)
        m = kv[kv.period_type == "month"][["org_id", "period", "numerator", "denominator"]].rename(
            columns={"numerator": "spend", "denominator": "budget_month"}
        )
        y = kv[kv.period_type == "ytd"][["org_id", "period", "numerator", "denominator"]].rename(
            columns={"numerator": "spend_ytd", "denominator": "budget_ytd"}
        )
        df = m.merge(y, on=["org_id", "period"], how="outer")
        if self.has("marts", "fct_fund_prepayments"):
            pp = self.df(
                "SELECT community_id AS org_id, month AS period, sum(amount) AS prepaid FROM "
                "marts.fct_fund_prepayments WHERE year(month) = ? GROUP BY ALL",
                [year],
            )
            pp["period"] = pd.to_datetime(pp.period)
            pp["org_id"] = pp.org_id.astype(str)
            df = df.merge(pp, on=["org_id", "period"], how="left")
        else:
            df["prepaid"] = 0.0
        df = df.sort_values(["org_id", "period"])
        df["prepaid"] = pd.to_numeric(df.prepaid, errors="coerce").astype(float).fillna(0.0)
        df["prepaid_ytd"] = df.groupby("org_id").prepaid.cumsum()
        bm = df.budget_month.astype(float)
        df["annual_budget"] = bm * 12
        df["execution"] = df.spend_ytd.astype(float) / df.budget_ytd.astype(float).where(df.budget_ytd > 0)
        months_elapsed = df.budget_ytd.astype(float) / bm.where(bm > 0)
        df["projected_balance"] = df.annual_budget - df.spend_ytd.astype(float) * 12 / months_elapsed
        return df

    def _city_of(self, level: str, org_id: str) -> str:
        hit = [oid for lvl, oid in self.lineage(level, org_id) if lvl == "city"]
        return hit[0] if hit else ""

    def fund_years(self) -> list[int]:
        rows = self.con.execute(
            "SELECT DISTINCT year(period) FROM marts.kpi_values WHERE kpi_code = 'fund_budget_execution' ORDER BY 1"
        ).fetchall()
        return [int(r[0]) for r in rows]


def _rollup(g: pd.DataFrame, level: str, org_id: str, name: str) -> dict:
    g = g[g.annual_budget.notna()]  # only communities with a budget for the year
    spend, bud = g.spend_ytd.astype(float).sum(), g.budget_ytd.astype(float).sum()
    return dict(
        level=level,
        county=org_id if level == "county" else "",
        org_id=org_id,
        name=name,
        period=g.period.max(),
        annual_budget=g.annual_budget.astype(float).sum(),
        spend_ytd=spend,
        budget_ytd=bud,
        prepaid_ytd=g.prepaid_ytd.astype(float).sum(),
        execution=spend / bud if bud else None,
        projected_balance=g.projected_balance.astype(float).sum(),
    )
