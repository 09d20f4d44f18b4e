"""Families C (fund) and D (supervision): kpi_values recomputed independently in pandas from the
raw tables of the shared generated city (kpis.md definitions, straight from the spec)."""

from __future__ import annotations

import calendar
from datetime import date

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def _month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


@pytest.fixture(scope="module")
def con(city_con):
    return city_con


def raw(con, feed: str) -> pd.DataFrame:
    return con.execute(f"select * from raw.{feed} where _superseded_by is null").df()


def kpi(con, code: str) -> pd.DataFrame:
    df = con.execute(
        "select org_level, org_id, period_type, period, numerator, denominator, value, status "
        "from marts.kpi_values where kpi_code = ?",
        [code],
    ).df()
    df["period"] = pd.to_datetime(df.period).dt.date
    return df


def one(df: pd.DataFrame, level: str, org: str, ptype: str, period: date) -> pd.Series:
    r = df[(df.org_level == level) & (df.org_id == org) & (df.period_type == ptype) & (df.period == period)]
    assert len(r) == 1, f"{level} {org} {ptype} {period}: {len(r)} rows"
    return r.iloc[0]


def months(con) -> list[date]:
    return [
        pd.Timestamp(m).date() for m in con.execute("select month from intermediate.int_months order by 1").df().month
    ]


def counties(con) -> list[str]:
    return list(con.execute("select county_code from intermediate.int_counties order by 1").df().county_code)


def city_code(con) -> str:
    return con.execute("select city_code from intermediate.int_city").fetchone()[0]


def _d(x):
    return None if pd.isna(x) else pd.Timestamp(x).date()


def test_fund_budget_execution_matches_spec(con):
    ms = months(con)
    comms = raw(con, "communities")
    budgets = raw(con, "fund_budgets")
    catch = raw(con, "catchments")
    enc = raw(con, "encounters")
    enc = enc[enc.scheme == "resident"].copy()
    enc["month"] = [
        date((d2 if t == "inpatient" else d1).year, (d2 if t == "inpatient" else d1).month, 1)
        for t, d1, d2 in zip(enc.encounter_type, enc.visit_date.map(_d), enc.discharge_date.map(_d), strict=False)
    ]
    spend = enc.groupby(["month", "insured_township_code"]).fund_paid.sum().astype(float)

    def catchment_spend(cid: str, m: date) -> float:
        me = _month_end(m)
        towns = catch[
            (catch.community_id == cid)
            & (catch.valid_from.map(_d) <= me)
            & (catch.valid_to.isna() | (catch.valid_to.map(_d).map(lambda v: v is None or v >= me)))
        ].township_code
        return float(sum(spend.get((m, t), 0.0) for t in towns))

    values = kpi(con, "fund_budget_execution")
    # pick the last loaded month and check every community, county and the city (ytd and month)
    m = ms[-1]
    me = _month_end(m)
    county_num: dict[str, float] = {}
    county_den: dict[str, float] = {}
    checked = 0
    for c in comms.itertuples():
        est = _d(c.established_on)
        if est > me:
            assert values[(values.org_id == c.community_id) & (values.period == m)].empty
            continue
        start = max(date(m.year, 1, 1), date(est.year, est.month, 1))
        ytd_months = m.month - start.month + 1 if start.year == m.year else m.month
        num_ytd = sum(catchment_spend(c.community_id, x) for x in ms if x.year == m.year and start <= x <= m)
        b = budgets[(budgets.community_id == c.community_id) & (budgets.year == m.year)]
        row = one(values, "community", c.community_id, "ytd", m)
        assert row.numerator == pytest.approx(num_ytd)
        if b.empty:
            assert pd.isna(row.value) and row.status == "no_data"
            continue
        budget = float(b.budget.iloc[0])
        assert row.denominator == pytest.approx(budget * ytd_months / 12)
        assert row.value == pytest.approx(num_ytd / (budget * ytd_months / 12))
        mrow = one(values, "community", c.community_id, "month", m)
        assert mrow.numerator == pytest.approx(catchment_spend(c.community_id, m))
        assert mrow.denominator == pytest.approx(budget / 12)
        county_num[c.county_code] = county_num.get(c.county_code, 0.0) + num_ytd
        county_den[c.county_code] = county_den.get(c.county_code, 0.0) + budget * ytd_months / 12
        checked += 1
    assert checked > 0
    for cc in counties(con):
        row = one(values, "county", cc, "ytd", m)
        assert row.numerator == pytest.approx(county_num.get(cc, 0.0))
        assert row.denominator == pytest.approx(county_den.get(cc, 0.0))
    row = one(values, "city", city_code(con), "ytd", m)
    assert row.numerator == pytest.approx(sum(county_num.values()))
    assert row.denominator == pytest.approx(sum(county_den.values()))


def test_fund_in_county_rate_and_primary_share_county_month(con):
    m = months(con)[-1]
    enc = raw(con, "encounters")
    fac = raw(con, "facilities").set_index("facility_id")
    enc = enc[enc.scheme == "resident"].copy()
    enc["month"] = [
        date((d2 if t == "inpatient" else d1).year, (d2 if t == "inpatient" else d1).month, 1)
        for t, d1, d2 in zip(enc.encounter_type, enc.visit_date.map(_d), enc.discharge_date.map(_d), strict=False)
    ]
    enc = enc[enc.month == m]
    enc["ins_county"] = enc.insured_township_code.str[:6]
    enc["fac_county"] = [
        fac.county_code.get(f, fc) for f, fc in zip(enc.facility_id, enc.facility_county_code, strict=False)
    ]
    enc["in_registry"] = enc.facility_id.isin(fac.index)
    enc["primary"] = [fac.tier.get(f) in ("township", "village", "clinic") for f in enc.facility_id]
    rate = kpi(con, "fund_in_county_rate")
    share = kpi(con, "fund_primary_care_share")
    for cc in counties(con):
        mine = enc[enc.ins_county == cc]
        row = one(rate, "county", cc, "month", m)
        assert row.denominator == pytest.approx(float(mine.fund_paid.sum()))
        assert row.numerator == pytest.approx(float(mine[mine.fac_county == cc].fund_paid.sum()))
        located = enc[(enc.fac_county == cc) & enc.in_registry]
        row = one(share, "county", cc, "month", m)
        assert row.denominator == pytest.approx(float(located.fund_paid.sum()))
        assert row.numerator == pytest.approx(float(located[located.primary].fund_paid.sum()))


def test_e_registration_is_ratio_of_sums(con):
    m = months(con)[-1]
    wf = raw(con, "workforce")
    fac = raw(con, "facilities").set_index("facility_id")
    wf = wf[wf.month.map(_d) == m].copy()
    wf["county"] = wf.facility_id.map(fac.county_code)
    values = kpi(con, "e_registration_physicians")
    for cc in counties(con):
        w = wf[wf.county == cc]
        row = one(values, "county", cc, "month", m)
        assert row.numerator == pytest.approx(float(w.physicians_e_registered.sum()))
        assert row.denominator == pytest.approx(float(w.physicians.sum()))
    row = one(values, "city", city_code(con), "month", m)
    assert row.denominator == pytest.approx(float(wf.physicians.sum()))
    f = wf.iloc[0]
    row = one(values, "facility", f.facility_id, "month", m)
    assert row.numerator == f.physicians_e_registered and row.denominator == f.physicians


def test_random_inspection_completion_ytd_is_not_a_sum_of_months(con):
    ms = months(con)
    m = ms[-1]
    insp = raw(con, "inspections")
    fac = raw(con, "facilities").set_index("facility_id")
    insp["county"] = insp.facility_id.map(fac.county_code)
    insp["planned"] = insp.planned_month.map(_d)
    insp["done"] = insp.completed_date.map(_d)
    rnd = insp[(insp.kind == "random") & (insp.planned >= date(m.year, 1, 1)) & (insp.planned <= m)]
    values = kpi(con, "random_inspection_completion")
    me = _month_end(m)
    for cc in counties(con):
        r = rnd[rnd.county == cc]
        row = one(values, "county", cc, "ytd", m)
        assert row.denominator == len(r)
        assert row.numerator == sum(1 for d in r.done if d is not None and d <= me)
        mr = r[r.planned == m]
        row = one(values, "county", cc, "month", m)
        assert row.denominator == len(mr)
        assert row.numerator == sum(1 for d in mr.done if d is not None and d <= me)


def test_audit_coverage_5y(con):
    m = months(con)[-1]
    me = _month_end(m)
    start = _add_months(m, -59)
    fac = raw(con, "facilities")
    insp = raw(con, "inspections")
    audits = insp[(insp.kind == "audit") & insp.completed_date.notna()]
    audited = {f for f, d in zip(audits.facility_id, audits.completed_date.map(_d), strict=False) if start <= d <= me}
    open_public = fac[
        (fac.ownership == "public")
        & fac.opened_on.map(lambda d: _d(d) is None or _d(d) <= me)
        & fac.closed_on.map(lambda d: _d(d) is None or _d(d) > me)
    ]
    values = kpi(con, "audit_coverage_5y")
    for cc in counties(con):
        f = open_public[open_public.county_code == cc]
        row = one(values, "county", cc, "month", m)
        assert row.denominator == len(f)
        assert row.numerator == f.facility_id.isin(audited).sum()


def test_complaints_penalties_agencies_city(con):
    ms = months(con)
    m = ms[-1]
    y0, me = date(m.year, 1, 1), _month_end(m)
    city = city_code(con)
    comp = raw(con, "complaints")
    due = comp[comp.due_date.map(lambda d: y0 <= _d(d) <= me)]
    on_time = sum(
        1 for c, d in zip(due.closed_date.map(_d), due.due_date.map(_d), strict=False) if c is not None and c <= d
    )
    row = one(kpi(con, "complaint_timely_closure"), "city", city, "ytd", m)
    assert row.denominator == len(due) and row.numerator == on_time

    pen = raw(con, "penalties")
    pen = pen[pen.decided_date.map(lambda d: y0 <= _d(d) <= me)]
    row = one(kpi(con, "penalty_cases"), "city", city, "ytd", m)
    assert row.value == len(pen) and pd.isna(row.denominator)
    row = one(kpi(con, "insurance_fraud_cases"), "city", city, "ytd", m)
    assert row.value == (pen.violation == "insurance_fraud").sum()
    row = one(kpi(con, "recovered_fund"), "city", city, "ytd", m)
    assert row.value == pytest.approx(float(pen.recovered_fund.sum()))

    ag = raw(con, "supervision_agencies")
    ag = ag[ag.year == m.year]
    row = one(kpi(con, "supervisor_professional_ratio"), "city", city, "year", y0)
    assert row.denominator == ag.staff_total.sum()  # the counties' agencies and the city's own
    assert row.numerator == ag.professional_staff.sum()
