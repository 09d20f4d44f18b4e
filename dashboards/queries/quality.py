"""Data quality: ingest batches, failed expectations, quarantined rows, replacements and the completeness grid.

Batches carry no org columns: a scoped viewer sees the batches whose coverage keys or file name name
one of the scope's counties or communities (`scope_keys`).
"""

from __future__ import annotations

import os
from datetime import date

import pandas as pd

from dashboards.queries.dates import next_month as _next_month
from dashboards.queries.orgs import Org

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
# what a county owes (dbt int_dq_feeds; the grid takes them from marts.dq_deliveries, these only when a
# year has no rows yet)
OWED_MONTHLY = ("encounters", "phs_services", "phs_funds", "workforce")
OWED_YEARLY = ("population", "fund_budgets", "supervision_agencies")
COMMUNITY_FEEDS = ("fund_prepayments", "fund_budgets")
ACCEPTED = ("accepted", "accepted_with_quarantine")
DEFAULT_LATE_DAY = int(os.environ.get("MEDCOM_LATE_DAY", "10"))


class QualityQueries:
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
        if not self.scope.is_all and "coverage_key" in df:
            keys = self.scope_keys()
            df = df[[any(k in str(x) for k in keys) for x in df.coverage_key]]
        return df.reset_index(drop=True)

    def _text_scope(self, df: pd.DataFrame) -> pd.DataFrame:
        """A scope below the warehouse: keep batches whose file name or coverage names one of its counties or
        communities."""
        if self.scope.is_all or df.empty:
            return df.reset_index(drop=True)
        keys = self.scope_keys()
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
        """feed × county × month of the year (yearly feeds: one row per county, month 0): the state of
        each delivery, from the model of expected vs received deliveries — never from file names.

        - Owed deliveries (dense monthly feeds, yearly feeds): `marts.dq_deliveries`, the rows the
          provisional mark of `marts.kpi_cell_quality` rests on: received / late (first accepted after
          `late_day` of the following month) / rejected (only rejected batches) / missing. A month
          after the latest month with data (or not yet ended) is `not_due`; a community feed before
          the county's first community has no row: `na`.
        - Event feeds (and family E, reported per region) owe nothing in a month without events: their
          cells say what `audit.batch_coverage` holds — received / late / rejected, else `none`.
        Empty when the snapshot predates marts.dq_deliveries (the page asks for a rebuild).
        """
        cols = ["feed", "county", "county_name", "month", "state", "first_received"]
        if not self.has("marts", "dq_deliveries"):
            return pd.DataFrame(columns=cols)
        counties = self.scope_orgs("county")
        d = self.df(
            "SELECT feed, cadence, county_code, period_start, accepted, rejected_only, first_accepted_at "
            "FROM marts.dq_deliveries WHERE year(period_start) = ?",
            [year],
        )
        owed = {(r.feed, r.cadence) for r in d.itertuples()} or {(f, "month") for f in OWED_MONTHLY} | {
            (f, "year") for f in OWED_YEARLY
        }
        mart = {(r.feed, str(r.county_code), pd.Timestamp(r.period_start).month if r.cadence == "month" else 0): r
                for r in d.itertuples()}  # fmt: skip
        events: dict[tuple, list] = {}
        if self.has("audit", "batch_coverage"):
            cov = self.df(
                "SELECT c.feed, c.county, c.period, b.verdict, b.received_at FROM audit.batch_coverage c "
                "JOIN audit.ingest_batches b USING (batch_id) WHERE c.period LIKE ?",
                [f"{year}%"],
            )
            for r in cov.itertuples():
                mm = int(r.period[5:7]) if len(str(r.period)) == 7 else 0
                events.setdefault((r.feed, str(r.county), mm), []).append((r.verdict, r.received_at))
        last = self.latest_month()
        today = today or date.today()
        rows = []

        def state_of(accepted: bool, rejected: bool, first, deadline: date | None, not_due: bool, owes: bool) -> str:
            if accepted:
                late = deadline is not None and first is not None and pd.Timestamp(first).date() > deadline
                return "late" if late else "received"
            if not_due:
                return "not_due"
            if rejected:
                return "rejected"
            return "missing" if owes else "none"

        def cell(feed: str, cadence: str, c: Org, mm: int, not_due: bool, deadline: date | None) -> dict:
            key = (feed, c.id, mm)
            first = None
            if (feed, cadence) in owed:
                r = mart.get(key)
                if r is None:
                    state = "not_due" if not_due else "na"
                else:
                    first = None if pd.isna(r.first_accepted_at) else pd.Timestamp(r.first_accepted_at).to_pydatetime()
                    state = state_of(bool(r.accepted), bool(r.rejected_only), first, deadline, not_due, True)
            else:
                got = events.get(key, [])
                ok = [pd.Timestamp(ts).to_pydatetime() for v, ts in got if v in ACCEPTED or v == "duplicate"]
                first = min(ok) if ok else None
                rejected = any(v == "rejected" for v, _ in got)
                state = state_of(bool(ok), rejected, first, deadline, not_due and not got, False)
            return dict(feed=feed, county=c.id, county_name=c.name, month=mm, state=state, first_received=first)

        for feed in YEARLY_FEEDS:  # once a year per county (month 0), never late
            for c in counties:
                not_due = (last is not None and year > last.year) or year > today.year
                rows.append(cell(feed, "year", c, 0, not_due, None))
        for feed in MONTHLY_FEEDS:
            for c in counties:
                for mm in range(1, 13):
                    month = date(year, mm, 1)
                    not_due = (last is not None and month > last) or _next_month(month) > today
                    deadline = _next_month(month).replace(day=min(late_day, 28))
                    rows.append(cell(feed, "month", c, mm, not_due, deadline))
        return pd.DataFrame(rows, columns=cols)
