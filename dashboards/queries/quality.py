"""Data quality: ingest batches, failed expectations, quarantined rows, replacements and the completeness grid.

Batches carry no org columns: a scoped viewer sees the batches whose coverage keys or file name name
one of the scope's counties or communities (`scope_keys`).
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime

import pandas as pd

from dashboards.queries.dates import month_end as _month_end
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
        counties = self.scope_orgs("county")
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
    (a city-wide file) — in a province, of the city whose code the name carries (the generated
    layout `<feed>/<city code>/<file>`), else of every city.
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
        codes = set(_CODE6.findall(file_name))
        cs = {c for c in codes if c in counties}
        cs |= {comm_county[k] for k in comm_county if k and k in file_name}
        if not cs:  # a city-wide file of one city of a province
            cities = {c[:4] for c in codes if c.endswith("00") and not c.endswith("0000")}
            cs = {k for k in counties if k[:4] in cities}
        for c in cs or counties:
            for ym in periods:
                out.add((c, ym))
    return out
