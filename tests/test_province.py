"""A generated province of 2 cities (许昌市, 漯河市), ingested and built once (`built_province`).

- province rows recomputed independently in pandas from the raw tables equal `kpi_values`
  (families A, B, C, D and E, month and YTD, plan counties of each month of each city);
- every KPI with city rows has province rows, and they are the sums of the city rows;
- each city's own rows are identical to those of the same city ingested alone (its own
  registry without the province row, its own feeds, and the encounter files of the province,
  i.e. the settlement data that includes other cities' insured treated in the city).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from medcom_cli import run_medcom

PROVINCE = "410000"
CITIES = ("411000", "411100")
PRIMARY = {"township", "village", "clinic"}


def _snapshot(home: Path) -> Path:
    p = home / "published" / (home / "published" / "CURRENT").read_text().strip()
    return p / "warehouse.duckdb" if p.is_dir() else p


@pytest.fixture(scope="module")
def con(built_province):
    c = duckdb.connect(str(_snapshot(built_province)), read_only=True)
    yield c
    c.close()


def _df(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


# ----------------------------------------------------------------------------- raw → pandas
class Raw:
    """Current raw rows, and the org facts kpis.md needs, computed here without dbt."""

    def __init__(self, con):
        def cur(feed, cols="*"):
            return _df(con, f"SELECT {cols} FROM raw.{feed} WHERE _superseded_by IS NULL")

        self.regions = cur("regions")
        self.fac = cur("facilities")
        par = self.fac.set_index("facility_id")
        self.fac["township_eff"] = self.fac.township_code.fillna(self.fac.parent_facility_id.map(par.township_code))
        self.fac_county = dict(zip(self.fac.facility_id, self.fac.county_code, strict=True))
        self.fac_tier = dict(zip(self.fac.facility_id, self.fac.tier, strict=True))
        self.comm = cur("communities")
        self.enc = cur("encounters")
        self.phs = cur("phs_services")
        self.weights = cur("phs_weights")
        self.funds = cur("phs_funds")
        self.work = cur("workforce")
        self.comp = cur("complaints")
        self.pen = cur("penalties")
        self.insp = cur("inspections")
        self.agencies = cur("supervision_agencies")
        self.reported = cur("reported_indicators")
        self.prepay = cur("fund_prepayments")
        r = self.regions
        self.cities = set(r[r.level == "city"].region_code)
        self.counties = set(r[(r.level == "county") & r.parent_code.isin(self.cities)].region_code)

        e = self.enc
        settle = np.where(e.encounter_type == "inpatient", e.discharge_date, e.visit_date)
        e["month"] = pd.to_datetime(settle).to_period("M").to_timestamp()
        e["insured_county"] = e.insured_township_code.str[:6]
        e["registry"] = e.facility_id.isin(self.fac_county)
        e["fac_county"] = e.facility_id.map(self.fac_county).fillna(e.facility_county_code)
        e["in_county"] = (e.fac_county == e.insured_county).fillna(False)
        e["primary"] = e.facility_id.map(self.fac_tier).isin(PRIMARY)
        e["fund"] = e.fund_paid.astype(float)
        months = [e.month]
        for df, col in ((self.phs, "month"), (self.funds, "month"), (self.prepay, "month"), (self.work, "month")):
            months.append(pd.to_datetime(df[col]).dt.to_period("M").dt.to_timestamp())
        months.append(pd.to_datetime(self.insp.planned_month).dt.to_period("M").dt.to_timestamp())
        months.append(pd.to_datetime(self.pen.decided_date).dt.to_period("M").dt.to_timestamp())
        months.append(pd.to_datetime(self.comp.received_date).dt.to_period("M").dt.to_timestamp())
        allm = pd.concat(months)
        self.months = list(pd.date_range(allm.min(), allm.max(), freq="MS"))

    def plan_counties(self, month: pd.Timestamp) -> set[str]:
        end = (month + pd.offsets.MonthEnd(0)).date()
        c = self.comm
        est = pd.to_datetime(c.established_on).dt.date
        return set(c[est <= end].county_code) & self.counties


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _with_ytd(monthly: dict[pd.Timestamp, tuple[float, float | None]]) -> dict[tuple[str, pd.Timestamp], tuple]:
    """{(period_type, month): (numerator, denominator)} with YTD = Σ of the year's months."""
    out = {}
    acc: dict[int, list[float]] = {}
    for m in sorted(monthly):
        n, d = monthly[m]
        a = acc.setdefault(m.year, [0.0, 0.0])
        a[0] += n
        a[1] += d or 0.0
        out[("month", m)] = (n, d)
        out[("ytd", m)] = (a[0], None if d is None else a[1])
    return out


def expected_province(raw: Raw) -> dict[str, dict[tuple[str, pd.Timestamp], tuple]]:
    """{kpi_code: {(period_type, period): (numerator, denominator)}} of the province."""
    e = raw.enc
    exp: dict[str, dict] = {}

    def monthly(code, fn, ytd=True):
        vals = {m: fn(m) for m in raw.months}
        exp[code] = _with_ytd(vals) if ytd else {("month", m): v for m, v in vals.items()}

    def ins(m):  # encounters of the plan counties' insured in month m (A and C: insured-based)
        return e[(e.month == m) & e.insured_county.isin(raw.plan_counties(m))]

    def located(m):  # encounters at registry facilities located in plan counties
        return e[(e.month == m) & e.registry & e.fac_county.isin(raw.plan_counties(m))]

    # ---- A
    monthly("in_county_visit_rate", lambda m: (ins(m).in_county.sum(), len(ins(m))))
    monthly(
        "in_county_inpatient_rate",
        lambda m: (
            (ins(m).in_county & (ins(m).encounter_type == "inpatient")).sum(),
            (ins(m).encounter_type == "inpatient").sum(),
        ),
    )

    def pcs(m):
        x = located(m)
        x = x[x.encounter_type.isin(["outpatient", "emergency"])]
        return (x.primary.sum(), len(x))

    monthly("primary_care_visit_share", pcs)
    monthly("upward_referrals", lambda m: ((ins(m).referral == "up").sum(), None))
    monthly("downward_referrals", lambda m: ((ins(m).referral == "down").sum(), None))

    # ---- B
    w = {(r.service_code, int(r.year)): float(r.weight) for r in raw.weights.itertuples()}
    phs = raw.phs.assign(
        month=pd.to_datetime(raw.phs.month),
        county=raw.phs.facility_id.map(raw.fac_county),
        village=raw.phs.facility_id.map(raw.fac_tier) == "village",
    )
    phs["wu"] = [u * w.get((s, m.year), 1.0) for u, s, m in zip(phs.units, phs.service_code, phs.month, strict=True)]
    funds = raw.funds.assign(
        month=pd.to_datetime(raw.funds.month),
        county=raw.funds.facility_id.map(raw.fac_county),
        village=raw.funds.facility_id.map(raw.fac_tier) == "village",
        amount=raw.funds.amount.astype(float),
    )

    def share(df, col):
        def fn(m):
            x = df[(df.month == m) & df.county.isin(raw.plan_counties(m))]
            return (x[x.village][col].sum(), x[col].sum())

        return fn

    monthly("village_phs_task_share", share(phs, "wu"))
    monthly("village_phs_fund_share", share(funds, "amount"))

    # ---- C (resident scheme)
    def fic(m):
        x = ins(m)
        x = x[x.scheme == "resident"]
        return (x[x.in_county].fund.sum(), x.fund.sum())

    def fpc(m):
        x = located(m)
        x = x[x.scheme == "resident"]
        return (x[x.primary].fund.sum(), x.fund.sum())

    monthly("fund_in_county_rate", fic)
    monthly("fund_primary_care_share", fpc)

    # ---- D (every county, the cities' own rows and the province's own rows)
    own = raw.counties | raw.cities | {PROVINCE}
    wk = raw.work.assign(month=pd.to_datetime(raw.work.month), county=raw.work.facility_id.map(raw.fac_county))
    monthly(
        "e_registration_physicians",
        lambda m: (
            wk[(wk.month == m) & wk.county.isin(raw.counties)].physicians_e_registered.sum(),
            wk[(wk.month == m) & wk.county.isin(raw.counties)].physicians.sum(),
        ),
        ytd=False,
    )
    comp = raw.comp.assign(due=pd.to_datetime(raw.comp.due_date), closed=pd.to_datetime(raw.comp.closed_date))
    comp = comp[comp.county_code.isin(own)]

    def timely(m):
        x = comp[comp.due.dt.to_period("M").dt.to_timestamp() == m]
        return ((x.closed.notna() & (x.closed <= x.due)).sum(), len(x))

    monthly("complaint_timely_closure", timely)
    pen = raw.pen.assign(
        month=pd.to_datetime(raw.pen.decided_date).dt.to_period("M").dt.to_timestamp(),
        county=raw.pen.facility_id.map(raw.fac_county),
    )
    pen = pen[pen.county.isin(raw.counties)]
    monthly("penalty_cases", lambda m: ((pen.month == m).sum(), None))
    monthly("insurance_fraud_cases", lambda m: (((pen.month == m) & (pen.violation == "insurance_fraud")).sum(), None))
    monthly("recovered_fund", lambda m: (pen[pen.month == m].recovered_fund.astype(float).sum(), None))

    insp = raw.insp.assign(
        planned=pd.to_datetime(raw.insp.planned_month),
        done=pd.to_datetime(raw.insp.completed_date),
        county=raw.insp.facility_id.map(raw.fac_county),
    )
    insp = insp[(insp.kind == "random") & insp.county.isin(raw.counties)]
    ric = {}
    for m in raw.months:
        end = m + pd.offsets.MonthEnd(0)
        for pt, lo in (("month", m), ("ytd", pd.Timestamp(m.year, 1, 1))):
            x = insp[(insp.planned >= lo) & (insp.planned <= m)]
            ric[(pt, m)] = ((x.done.notna() & (x.done <= end)).sum(), len(x))
    exp["random_inspection_completion"] = ric

    ag = raw.agencies[raw.agencies.county_code.isin(own)]
    exp["supervisor_professional_ratio"] = {
        ("year", pd.Timestamp(int(y), 1, 1)): (g.professional_staff.sum(), g.staff_total.sum())
        for y, g in ag.groupby("year")
        if pd.Timestamp(int(y), 1, 1).year in {m.year for m in raw.months}
    }

    # ---- E: as reported for the province's own code
    rep = raw.reported[raw.reported.region_code == PROVINCE]
    for r in rep.itertuples():
        exp.setdefault(r.indicator_code, {})[("year", pd.Timestamp(int(r.year), 1, 1))] = ("value", float(r.value))
    return exp


def test_province_rows_equal_an_independent_pandas_recomputation(con):
    raw = Raw(con)
    assert raw.cities == set(CITIES)
    # the plan grows mid-year in both cities (Xuchang 411024 and Luohe 411122 join in July)
    jun, jul = pd.Timestamp(2020, 6, 1), pd.Timestamp(2020, 7, 1)
    assert {"411024", "411122"} <= raw.plan_counties(jul) - raw.plan_counties(jun)
    exp = expected_province(raw)
    got = _df(
        con,
        f"SELECT kpi_code, period_type, period, numerator, denominator, value FROM marts.kpi_values "
        f"WHERE org_level = 'province' AND org_id = '{PROVINCE}'",
    )
    got["period"] = pd.to_datetime(got.period)
    index = {(r.kpi_code, r.period_type, r.period): r for r in got.itertuples()}
    checked = 0
    for code, rows in exp.items():
        for (pt, period), (num, den) in rows.items():
            r = index.get((code, pt, period))
            assert r is not None, f"no province row for {code} {pt} {period:%Y-%m}"
            if num == "value":  # family E: as reported
                assert r.value == pytest.approx(den, abs=1e-9)
                assert pd.isna(r.numerator) and pd.isna(r.denominator)
            else:
                assert r.numerator == pytest.approx(float(num), abs=1e-6), (code, pt, period)
                if den is None:
                    assert pd.isna(r.denominator) and r.value == pytest.approx(float(num), abs=1e-6)
                else:
                    assert r.denominator == pytest.approx(float(den), abs=1e-6), (code, pt, period)
                    want = _ratio(float(num), float(den))
                    assert (pd.isna(r.value) and want is None) or r.value == pytest.approx(want, abs=1e-9)
            checked += 1
    assert checked >= 200  # 7 months × 29 monthly series, the agency year, 14 reported indicators
    # the mid-year join: the province's July YTD follows each month's plan counties, so it is not
    # the sum of the YTDs of the counties that are in the plan in July
    ytd_jul = index[("in_county_visit_rate", "ytd", jul)]
    county_ytd = _df(
        con,
        "SELECT sum(denominator) AS d FROM marts.kpi_values WHERE kpi_code = 'in_county_visit_rate' "
        "AND org_level = 'county' AND period_type = 'ytd' AND period = DATE '2020-07-01' "
        f"AND org_id IN ({', '.join(repr(c) for c in sorted(raw.plan_counties(jul)))})",
    ).d.iloc[0]
    assert ytd_jul.denominator < county_ytd


def test_every_kpi_with_city_rows_has_province_rows_summing_the_cities(con):
    city_kpis = set(_df(con, "SELECT DISTINCT kpi_code FROM marts.kpi_values WHERE org_level = 'city'").kpi_code)
    prov_kpis = set(_df(con, "SELECT DISTINCT kpi_code FROM marts.kpi_values WHERE org_level = 'province'").kpi_code)
    assert city_kpis == prov_kpis and len(city_kpis) >= 39
    # the same (kpi, period type, period) keys as the cities'
    diff = _df(
        con,
        """
        WITH c AS (SELECT DISTINCT kpi_code, period_type, period FROM marts.kpi_values WHERE org_level = 'city'
                   AND kpi_code NOT IN (SELECT kpi_code FROM marts.dim_kpi WHERE family = 'E')),
             p AS (SELECT kpi_code, period_type, period FROM marts.kpi_values WHERE org_level = 'province'
                   AND kpi_code NOT IN (SELECT kpi_code FROM marts.dim_kpi WHERE family = 'E'))
        SELECT count(*) AS n FROM (SELECT * FROM c EXCEPT SELECT * FROM p UNION ALL (SELECT * FROM p EXCEPT SELECT * FROM c))
        """,
    ).n.iloc[0]
    assert diff == 0
    # A–C (no own rows at the province): province = Σ cities, numerators and denominators
    bad = _df(
        con,
        """
        WITH c AS (SELECT v.kpi_code, period_type, period, sum(numerator) AS n, sum(denominator) AS d
                   FROM marts.kpi_values v JOIN marts.dim_kpi k USING (kpi_code)
                   WHERE org_level = 'city' AND k.family IN ('A', 'B', 'C') GROUP BY ALL)
        SELECT p.kpi_code, p.period_type, p.period
        FROM marts.kpi_values p JOIN c USING (kpi_code, period_type, period)
        WHERE p.org_level = 'province'
          AND (abs(coalesce(p.numerator, 0) - coalesce(c.n, 0)) > 1e-6
               OR abs(coalesce(p.denominator, 0) - coalesce(c.d, 0)) > 1e-6
               OR (p.denominator IS NULL) <> (c.d IS NULL))
        """,
    )
    assert bad.empty, bad.head()
    # statuses and targets as for any level (the default registry's all-level rows apply)
    t = _df(
        con,
        "SELECT target, status FROM marts.kpi_values WHERE org_level = 'province' "
        "AND kpi_code = 'in_county_visit_rate' AND period_type = 'ytd' AND period = DATE '2020-07-01'",
    )
    assert t.target.iloc[0] == pytest.approx(0.90) and t.status.iloc[0] in {"green", "amber", "red", "insufficient"}


def test_dim_org_province_tree(con):
    o = _df(con, "SELECT org_level, org_id, name, parent_level, parent_id FROM marts.dim_org")
    prov = o[o.org_level == "province"]
    assert prov[["org_id", "name"]].values.tolist() == [[PROVINCE, "河南省"]]
    assert prov.parent_level.isna().all()
    cities = o[o.org_level == "city"].sort_values("org_id")
    assert cities.org_id.tolist() == list(CITIES)
    assert set(zip(cities.parent_level, cities.parent_id, strict=True)) == {("province", PROVINCE)}
    counties = o[o.org_level == "county"]
    assert (counties.parent_level == "city").all()
    assert (counties.parent_id.str[:4] == counties.org_id.str[:4]).all()
    assert set(counties.parent_id) == set(CITIES)


# ----------------------------------------------------------------------------- a city alone
def _alone_inbox(inbox: Path, city: str, dest: Path) -> Path:
    """The city's own delivery: its registry with no province (its row's parent blanked), its
    own feeds, the warehouse-wide PHS weights and target overrides, and every encounter file."""
    for feed_dir in sorted(p for p in inbox.iterdir() if p.is_dir()):
        feed = feed_dir.name
        if feed in ("encounters", "phs_weights"):
            shutil.copytree(feed_dir, dest / feed, dirs_exist_ok=True)
        elif (feed_dir / city).is_dir():
            shutil.copytree(feed_dir / city, dest / feed / city)
    for f in inbox.glob("*.csv"):
        shutil.copy(f, dest / f.name)
    regions = dest / "regions" / city / "regions.csv"
    with open(regions, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r["level"] == "city":
            r["parent_code"] = ""
    with open(regions, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dest


@pytest.mark.parametrize("city", CITIES)
def test_each_city_equals_the_city_ingested_alone(built_province, con, city, tmp_path):
    inbox = _alone_inbox(built_province.parent / "inbox", city, tmp_path / "inbox")
    home = tmp_path / "home"
    run_medcom("ingest", str(inbox), home=home, check=True)
    run_medcom("build", home=home, check=True)
    with duckdb.connect(str(_snapshot(home)), read_only=True) as alone:
        assert _df(alone, "SELECT count(*) AS n FROM marts.kpi_values WHERE org_level = 'province'").n.iloc[0] == 0
        orgs = _df(alone, "SELECT org_level, org_id FROM marts.dim_org")
        cols = "kpi_code, org_level, org_id, period_type, period, numerator, denominator, value, target, status"
        want = _df(alone, f"SELECT {cols} FROM marts.kpi_values ORDER BY ALL")
    keys = set(zip(orgs.org_level, orgs.org_id, strict=True))
    assert ("city", city) in keys and not any(lvl == "city" and o != city for lvl, o in keys)
    got = _df(con, f"SELECT {cols} FROM marts.kpi_values ORDER BY ALL")
    got = got[[(lvl, o) in keys for lvl, o in zip(got.org_level, got.org_id, strict=True)]].reset_index(drop=True)
    assert len(want) > 1000
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-9)


def test_generated_dates_are_in_range(con):
    # a guard for the fixture itself: 7 months from 2020-01, nothing after
    m = _df(con, "SELECT max(period) AS p FROM marts.kpi_values WHERE period_type = 'month'").p.iloc[0]
    assert pd.Timestamp(m).date() == dt.date(2020, 7, 1)


def test_demo_refuses_to_mix_a_city_into_the_province(built_province):
    before = sorted(p.name for p in built_province.iterdir())
    proc = run_medcom("demo", "--no-serve", home=built_province)
    assert proc.returncode == 2
    assert "already holds a province of 2 cities" in proc.stderr and "--cities 1" in proc.stderr
    assert sorted(p.name for p in built_province.iterdir()) == before  # nothing generated or ingested
