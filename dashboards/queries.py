"""The dashboard's only data access: read-only queries on the published warehouse snapshot.

Every page builds a `Queries(scope)` per request (`with Queries(scope) as q:`); it opens one
read-only connection to the snapshot named by `published/CURRENT` (so a new build shows up on
the next request, without a restart) and closes it at the end. The viewer's `Scope` (the
whole city, or one county) restricts every org, list and grid it returns, so county-scoped
users need no change in the pages.

Only the warehouse contract of outputs.md is used (marts.kpi_values, dim_kpi, dim_org,
fct_<feed> with the feed's canonical columns, audit.*).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from medcom.errors import MedcomError

PERIOD_PREFERENCE = {"month": ("month", "ytd", "year"), "ytd": ("ytd", "month", "year")}
MONTHLY_FEEDS = (
    "encounters",
    "phs_services",
    "phs_funds",
    "fund_prepayments",
    "inspections",
    "penalties",
    "complaints",
    "workforce",
)
YEARLY_FEEDS = ("population", "fund_budgets", "supervision_agencies", "reported_indicators")
COMMUNITY_FEEDS = ("fund_prepayments", "fund_budgets")
ACCEPTED = ("accepted", "accepted_with_quarantine")
LEVEL_ORDER = {"city": 0, "county": 1, "community": 2, "township": 3, "facility": 3}
DEFAULT_LATE_DAY = int(os.environ.get("MEDCOM_LATE_DAY", "10"))


class NoWarehouse(MedcomError):
    """No snapshot has been published yet."""


@dataclass(frozen=True)
class Scope:
    """What a viewer may see: the whole city (`county=None`) or one county."""

    county: str | None = None

    @classmethod
    def from_env(cls) -> Scope:
        return cls(os.environ.get("MEDCOM_DASHBOARD_COUNTY") or None)


@dataclass(frozen=True)
class Org:
    level: str
    id: str
    name: str


def connect() -> duckdb.DuckDBPyConnection:
    """Read-only connection to the current published snapshot."""
    try:
        from warehouse import connect_reader
    except ImportError:  # pragma: no cover - only before warehouse/ existed
        connect_reader = None
    if connect_reader is not None:
        try:
            return connect_reader()  # same settings as the SQL sandbox (warehouse.reader_config())
        except MedcomError as exc:
            raise NoWarehouse(str(exc)) from None
    raise NoWarehouse("no published warehouse yet")  # pragma: no cover


class Queries:
    def __init__(self, scope: Scope | None = None, con: duckdb.DuckDBPyConnection | None = None):
        self.scope = scope or Scope()
        self._con = con
        self._own = con is None
        self._orgs: pd.DataFrame | None = None
        self._org_index: dict[tuple[str, str], dict] | None = None
        self._tables: set[tuple[str, str]] | None = None

    # -- plumbing ---------------------------------------------------------------------
    def __enter__(self) -> Queries:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None and self._own:
            with contextlib.suppress(Exception):
                self._con.close()
        self._con = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = connect()
        return self._con

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def _read_if_present(self, schema: str, table: str, sql: str, params: list | None = None) -> pd.DataFrame:
        """`sql` (a query on schema.table), or an empty frame when the snapshot has no such table."""
        return self.df(sql, params) if self.has(schema, table) else pd.DataFrame()

    def tables(self) -> set[tuple[str, str]]:
        if self._tables is None:
            rows = self.con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            self._tables = {(s, n) for s, n in rows}
        return self._tables

    def has(self, schema: str, table: str) -> bool:
        return (schema, table) in self.tables()

    def columns(self, schema: str, table: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        return [r[0] for r in rows]

    # -- organisations and scope ----------------------------------------------------------
    def orgs(self) -> pd.DataFrame:
        if self._orgs is None:
            cols = set(self.columns("marts", "dim_org"))
            extra = [c for c in ("tier", "county_code", "township_code", "community_id", "established_on") if c in cols]
            sel = ", ".join(["org_level", "org_id", "name", "parent_level", "parent_id", *extra])
            df = self.df(f"SELECT {sel} FROM marts.dim_org")
            for c in ("tier", "county_code", "township_code", "community_id", "established_on"):
                if c not in df:
                    df[c] = None
            df["org_id"] = df["org_id"].astype(str)
            self._orgs = df
        return self._orgs

    def _row(self, level: str, org_id: str) -> dict | None:
        if self._org_index is None:
            self._org_index = {(r["org_level"], r["org_id"]): r for r in self.orgs().to_dict("records")}
        return self._org_index.get((level, str(org_id)))

    def org(self, level: str, org_id: str) -> Org | None:
        r = self._row(level, org_id)
        return None if r is None else Org(level, str(org_id), str(r["name"]))

    def name(self, level: str, org_id: str) -> str:
        o = self.org(level, org_id)
        return o.name if o else str(org_id)

    def city(self) -> Org | None:
        o = self.orgs()
        hit = o[o.org_level == "city"]
        return None if hit.empty else Org("city", str(hit.iloc[0].org_id), str(hit.iloc[0]["name"]))

    def root(self) -> Org | None:
        if self.scope.county:
            return self.org("county", self.scope.county)
        return self.city()

    def county_of(self, level: str, org_id: str) -> str | None:
        if level == "county":
            return org_id
        r = self._row(level, org_id)
        if r is None:
            return None
        if level in ("community", "township"):
            return str(r["parent_id"]) if r["parent_level"] == "county" else str(org_id)[:6]
        if level == "facility":
            return str(r["county_code"]) if isinstance(r["county_code"], str) and r["county_code"] else None
        return None

    def in_scope(self, level: str, org_id: str) -> bool:
        if self.org(level, org_id) is None:
            return False
        if not self.scope.county:
            return True
        if level == "city":
            return False
        return self.county_of(level, org_id) == self.scope.county

    def children(self, level: str, org_id: str) -> dict[str, list[Org]]:
        """Drill-down targets of an org, grouped by level (scope-filtered)."""
        o = self.orgs()
        out: dict[str, list[Org]] = {}

        def take(df: pd.DataFrame, lvl: str) -> list[Org]:
            df = df.sort_values("org_id")
            return [Org(lvl, str(r.org_id), str(r.name)) for r in df.itertuples() if self.in_scope(lvl, r.org_id)]

        if level == "city":
            out["county"] = take(o[(o.org_level == "county")], "county")
        elif level == "county":
            out["community"] = take(o[(o.org_level == "community") & (o.parent_id == org_id)], "community")
        elif level == "community":
            fac = o[(o.org_level == "facility") & (o.community_id == org_id)]
            out["facility"] = take(fac, "facility")
            towns = set(fac.township_code.dropna().astype(str))
            out["township"] = take(o[(o.org_level == "township") & (o.org_id.isin(towns))], "township")
        return {k: v for k, v in out.items() if v}

    def community_of_township(self, township: str) -> str | None:
        o = self.orgs()
        fac = o[(o.org_level == "facility") & (o.township_code == township) & o.community_id.notna()]
        return None if fac.empty else str(fac.iloc[0].community_id)

    def path(self, level: str, org_id: str) -> list[Org]:
        """Breadcrumb trail from the scope root down to the org."""
        trail: list[Org] = []
        cur: tuple[str, str] | None = (level, str(org_id))
        while cur is not None:
            org = self.org(*cur)
            if org is None:
                break
            trail.append(org)
            root = self.root()
            if root and (org.level, org.id) == (root.level, root.id):
                break
            lvl, oid = cur
            if lvl == "facility":
                r = self._row("facility", oid)
                comm = r["community_id"] if isinstance(r["community_id"], str) and r["community_id"] else None
                cur = ("community", comm) if comm else ("county", str(r["county_code"]))
            elif lvl == "township":
                comm = self.community_of_township(oid)
                cur = ("community", comm) if comm else ("county", self.county_of("township", oid))
            elif lvl == "community":
                cur = ("county", self.county_of("community", oid))
            elif lvl == "county":
                c = self.city()
                cur = (c.level, c.id) if c else None
            else:
                cur = None
        return list(reversed(trail))

    # -- KPIs -------------------------------------------------------------------------
    def kpis(self) -> pd.DataFrame:
        cols = set(self.columns("marts", "dim_kpi"))
        order = "display_order, " if "display_order" in cols else ""
        df = self.df(
            "SELECT kpi_code, name_zh, name_en, family, unit, direction, formula_zh, formula_en, source_feeds, "
            f"policy_ref FROM marts.dim_kpi ORDER BY family, {order}kpi_code"
        )
        return df

    def kpi(self, code: str) -> dict | None:
        df = self.kpis()
        hit = df[df.kpi_code == code]
        return None if hit.empty else hit.iloc[0].to_dict()

    def months(self) -> list[date]:
        rows = self.con.execute(
            "SELECT DISTINCT period FROM marts.kpi_values WHERE period_type = 'month' ORDER BY period"
        ).fetchall()
        return [_as_date(r[0]) for r in rows]

    def latest_month(self) -> date | None:
        m = self.months()
        return m[-1] if m else None

    def cells(
        self, orgs: list[Org], month: date, period_type: str = "month", families: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        """One row per KPI × org for the month: requested period type, else the KPI's own
        period (month/ytd), else the latest annual value of that year or before."""
        orgs = [x for x in orgs if self.in_scope(x.level, x.id)]
        if not orgs:
            return pd.DataFrame(
                columns=[
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
                ]
            )
        pairs = pd.DataFrame({"org_level": [x.level for x in orgs], "org_id": [x.id for x in orgs]})
        self.con.register("_orgs", pairs)
        try:
            df = self.df(
                """
                SELECT k.kpi_code, k.org_level, k.org_id, k.period_type, k.period, k.numerator, k.denominator,
                       k.value, k.target, k.direction, k.status
                FROM marts.kpi_values k JOIN _orgs o USING (org_level, org_id)
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
        return df.drop(columns=["_rank", "_p", "_best"]).reset_index(drop=True)

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
        return df[df.period_type == pt].reset_index(drop=True)

    def kpi_levels(self, code: str) -> list[str]:
        rows = self.con.execute("SELECT DISTINCT org_level FROM marts.kpi_values WHERE kpi_code = ?", [code]).fetchall()
        return sorted((r[0] for r in rows), key=lambda x: LEVEL_ORDER.get(x, 9))

    def kpi_period_types(self, code: str) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT period_type FROM marts.kpi_values WHERE kpi_code = ?", [code]
        ).fetchall()
        return [p for p in ("month", "ytd", "year") if p in {r[0] for r in rows}]

    def peers(self, code: str, level: str, period: date, period_type: str) -> pd.DataFrame:
        df = self.df(
            "SELECT k.org_id, o.name, k.numerator, k.denominator, k.value, k.target, k.status "
            "FROM marts.kpi_values k LEFT JOIN marts.dim_org o ON o.org_level = k.org_level AND o.org_id = k.org_id "
            "WHERE k.kpi_code = ? AND k.org_level = ? AND k.period_type = ? AND k.period = ? ORDER BY k.value DESC",
            [code, level, period_type, period],
        )
        if df.empty:
            return df
        keep = [self.in_scope(level, str(x)) for x in df.org_id]
        return df[keep].reset_index(drop=True)

    def last_load(self, feeds: list[str] | None = None) -> datetime | None:
        if not self.has("audit", "ingest_batches"):
            return None
        sql = "SELECT max(received_at) FROM audit.ingest_batches WHERE verdict IN ('accepted', 'accepted_with_quarantine')"
        params: list = []
        if feeds:
            sql += " AND feed IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(feeds))
        r = self.con.execute(sql, params).fetchone()
        return r[0] if r else None

    # -- insurance fund -------------------------------------------------------------------
    def fund(self, year: int) -> dict[str, pd.DataFrame]:
        """Per community and month of the year: spend, pro-rated budget, prepayments (monthly and
        cumulative), annual budget, execution rate and projected year-end balance (结余 > 0, 超支 < 0);
        `summary` = the latest month per community plus county and city roll-ups (sums).

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
        if not self.scope.county:
            c = self.city()
            rolls.append(_rollup(summary, "city", c.id if c else "", c.name if c else ""))
        summary = pd.concat([summary, pd.DataFrame(rolls)], ignore_index=True)
        summary["_o"] = summary.level.map({"community": 0, "county": 1, "city": 2})
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

    def fund_years(self) -> list[int]:
        rows = self.con.execute(
            "SELECT DISTINCT year(period) FROM marts.kpi_values WHERE kpi_code = 'fund_budget_execution' ORDER BY 1"
        ).fetchall()
        return [int(r[0]) for r in rows]

    # -- supervision lists ------------------------------------------------------------------
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
        return self._county_filter(df, "county_code")

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
        return self._county_filter(df, "county_code")

    def _county_filter(self, df: pd.DataFrame, col: str) -> pd.DataFrame:
        if self.scope.county and not df.empty:
            df = df[[str(x) == self.scope.county for x in df[col]]]
        return df.reset_index(drop=True)

    # -- data quality ---------------------------------------------------------------------
    def batches(self, limit: int = 5000) -> pd.DataFrame:
        df = self._read_if_present(
            "audit",
            "ingest_batches",
            f"SELECT * FROM audit.ingest_batches ORDER BY received_at DESC LIMIT {int(limit)}",
        )
        return self._text_scope(df)

    def failed_expectations(self, limit: int = 2000) -> pd.DataFrame:
        return self._with_batch(
            "dq_results", f"WHERE NOT x.success ORDER BY b.received_at DESC NULLS LAST LIMIT {int(limit)}"
        )

    def quarantine(self, limit: int = 2000) -> pd.DataFrame:
        return self._with_batch(
            "quarantine", f"ORDER BY b.received_at DESC NULLS LAST, x.row_number LIMIT {int(limit)}"
        )

    def _with_batch(self, table: str, rest: str) -> pd.DataFrame:
        """Rows `x` of audit.<table> with their batch `b`'s feed and file name (`rest`: WHERE/ORDER BY/LIMIT)."""
        df = self._read_if_present(
            "audit",
            table,
            f"SELECT b.feed, b.file_name, x.* FROM audit.{table} x LEFT JOIN audit.ingest_batches b USING (batch_id) "
            + rest,
        )
        return self._text_scope(df)

    def replacements(self, limit: int = 2000) -> pd.DataFrame:
        df = self._read_if_present("audit", "replacements", f"SELECT * FROM audit.replacements LIMIT {int(limit)}")
        if self.scope.county and "coverage_key" in df:
            df = df[[self.scope.county in str(x) for x in df.coverage_key]]
        return df.reset_index(drop=True)

    def _text_scope(self, df: pd.DataFrame) -> pd.DataFrame:
        """County scope: keep batches whose file name or coverage mentions the county or one of its communities."""
        if not self.scope.county or df.empty:
            return df.reset_index(drop=True)
        keys = [self.scope.county] + [c.id for c in self.children("county", self.scope.county).get("community", [])]
        text = (
            df.get("file_name", pd.Series("", index=df.index)).fillna("").astype(str)
            + " "
            + df.get("coverage", pd.Series("", index=df.index)).fillna("").astype(str)
        )
        return df[[any(k in str(s) for k in keys) for s in text]].reset_index(drop=True)

    def batch_years(self) -> list[int]:
        years = {m.year for m in self.months()}
        return sorted(years)

    def completeness(self, year: int, late_day: int = DEFAULT_LATE_DAY, today: date | None = None) -> pd.DataFrame:
        """feed × county × month of the year: received / late / rejected / missing / not_due / na
        (yearly feeds: one row per county with month 0, never late; na = a community feed for a
        county without a community established by then).

        A batch's county × month pairs come from its coverage keys (`<county|community>:<YYYY-MM>`;
        a community counts for its county), or for rejected files from the file name. Received = an
        accepted batch covers it; late = the first accepted one arrived after `late_day` of the
        following month; rejected = only rejected batches cover it; missing = nothing.
        Months after the latest month with data (or not yet ended) are `not_due`.
        """
        o = self.orgs()
        counties = [c for c in self.children("city", self.city().id).get("county", [])] if self.city() else []
        if self.scope.county:
            counties = [c for c in counties if c.id == self.scope.county]
        county_ids = {c.id for c in counties}
        all_counties = set(o[o.org_level == "county"].org_id)
        comm = o[o.org_level == "community"]
        comm_county = dict(zip(comm.org_id.astype(str), comm.parent_id.astype(str), strict=False))
        b = (
            self.df("SELECT feed, file_name, coverage, received_at, verdict FROM audit.ingest_batches")
            if self.has("audit", "ingest_batches")
            else pd.DataFrame(columns=["feed", "file_name", "coverage", "received_at", "verdict"])
        )
        first_ok: dict[tuple, datetime] = {}
        rejected: set[tuple] = set()
        for r in b.itertuples():
            if r.feed not in MONTHLY_FEEDS and r.feed not in YEARLY_FEEDS:
                continue
            yearly = r.feed in YEARLY_FEEDS
            for c, (y, mm) in _coverage_pairs(r.coverage, r.file_name, all_counties, comm_county, yearly):
                if y == year and (not county_ids or c in county_ids):
                    key = (r.feed, c, mm)
                    if r.verdict in ACCEPTED or r.verdict == "duplicate":
                        ts = pd.Timestamp(r.received_at).to_pydatetime()
                        if key not in first_ok or ts < first_ok[key]:
                            first_ok[key] = ts
                    elif r.verdict == "rejected":
                        rejected.add(key)
        last = self.latest_month()
        today = today or date.today()
        rows = []
        # community feeds are expected from a county only once it has a community (established by then)
        est: dict[str, list] = {}
        for r in comm.itertuples():
            e = getattr(r, "established_on", None)
            est.setdefault(str(r.parent_id), []).append(None if e is None or pd.isna(e) else pd.Timestamp(e).date())

        def expected(feed: str, county: str, period_end: date) -> bool:
            if feed not in COMMUNITY_FEEDS:
                return True
            return any(e is None or e <= period_end for e in est.get(county, []))

        def cell(feed: str, c: Org, mm: int, period_end: date, not_due: bool, deadline: date | None = None) -> dict:
            key = (feed, c.id, mm)
            if not expected(feed, c.id, period_end):
                state = "na"
            elif key in first_ok:
                state = "late" if deadline is not None and first_ok[key].date() > deadline else "received"
            elif key in rejected:
                state = "rejected"
            elif not_due:
                state = "not_due"
            else:
                state = "missing"
            return dict(
                feed=feed, county=c.id, county_name=c.name, month=mm, state=state, first_received=first_ok.get(key)
            )

        for feed in YEARLY_FEEDS:  # once a year per county (month 0), never late
            for c in counties:
                not_due = (last is not None and year > last.year) or year > today.year
                rows.append(cell(feed, c, 0, date(year, 12, 31), not_due))
        for feed in MONTHLY_FEEDS:
            for c in counties:
                for mm in range(1, 13):
                    month = date(year, mm, 1)
                    not_due = (last is not None and month > last) or _next_month(month) > today
                    deadline = _next_month(month).replace(day=min(late_day, 28))
                    rows.append(cell(feed, c, mm, _month_end(month), not_due, deadline))
        return pd.DataFrame(rows)

    # -- SQL page ---------------------------------------------------------------------------
    def dictionary(self) -> pd.DataFrame:
        """Every column of the snapshot (marts and audit first) with dbt's descriptions when present."""
        df = self.df(
            'SELECT table_schema AS schema, table_name AS "table", column_name AS "column", data_type AS type '
            "FROM information_schema.columns WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
            "AND table_catalog = current_database() ORDER BY CASE table_schema WHEN 'marts' THEN 0 "
            "WHEN 'audit' THEN 1 ELSE 2 END, table_schema, table_name, ordinal_position"
        )
        desc = dbt_descriptions()
        keys = list(zip(df.schema, df["table"], df["column"], strict=False))
        df["description"] = [desc.get(k, "") for k in keys]
        df["table_description"] = [desc.get((s_, t_, None), "") for s_, t_, _ in keys]
        return df


def run_sql(sql: str, max_rows: int = 10_000, timeout: float = 30.0):
    """The analysts' sandbox (same as `medcom sql`): returns warehouse.sandbox.QueryResult."""
    from warehouse.sandbox import run_query

    return run_query(sql, max_rows=max_rows, timeout=timeout)


def dbt_descriptions() -> dict[tuple, str]:
    """(schema, table, column|None) -> description from MEDCOM_HOME/dbt/target/manifest.json, if present."""
    from medcom.settings import paths

    f = Path(paths().dbt_target) / "manifest.json"
    out: dict[tuple, str] = {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    for node in list(data.get("nodes", {}).values()) + list(data.get("sources", {}).values()):
        if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
            continue
        schema, name = node.get("schema"), node.get("alias") or node.get("identifier") or node.get("name")
        if node.get("description"):
            out[(schema, name, None)] = node["description"]
        for col, meta in (node.get("columns") or {}).items():
            if meta.get("description"):
                out[(schema, name, col)] = meta["description"]
    return out


_PAIR = re.compile(r"([0-9A-Za-z_\-]+):(\d{4})(?:-(\d{2}))?(?![\d-])")
_MONTH = re.compile(r"(?<!\d)(20\d{2})-?(0[1-9]|1[0-2])(?!\d)")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_CODE6 = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def _coverage_pairs(
    coverage, file_name, counties: set[str], comm_county: dict[str, str], yearly: bool = False
) -> set[tuple]:
    """{(county, (year, month))} a batch covers; month 0 for a yearly key.

    From the coverage keys (`<county or community>:<YYYY-MM>` or `:<YYYY>`, comma-separated) when
    present; otherwise (rejected files load nothing) from the file name: its county or community and
    month (or year for yearly feeds), or every county of the city when the name has no county
    (a city-wide file).
    """
    out: set[tuple] = set()
    if isinstance(coverage, str) and coverage:
        for key, y, m in _PAIR.findall(coverage):
            county = key if key in counties else comm_county.get(key)
            if county and bool(m) != yearly:
                out.add((county, (int(y), int(m) if m else 0)))
        if out:
            return out
    if isinstance(file_name, str) and file_name:
        if yearly:
            periods = {(int(y), 0) for y in _YEAR.findall(file_name)}
        else:
            periods = {(int(y), int(m)) for y, m in _MONTH.findall(file_name)}
        cs = {c for c in _CODE6.findall(file_name) if c in counties}
        cs |= {comm_county[k] for k in comm_county if k and k in file_name}
        for c in cs or counties:
            for ym in periods:
                out.add((c, ym))
    return out


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


def _as_date(v) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return pd.Timestamp(v).date()


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _month_end(d: date) -> date:
    from datetime import timedelta

    return _next_month(d) - timedelta(days=1)


def parse_month(text: str | None) -> date | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-?(\d{2})(?:-\d{2})?", text.strip())
    if not m:
        return None
    y, mm = int(m.group(1)), int(m.group(2))
    return date(y, mm, 1) if 1 <= mm <= 12 else None
