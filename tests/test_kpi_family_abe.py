"""Families A (care-seeking), B (village public-health share) and E (reported results) and the
target / status logic of marts.kpi_values, recomputed independently in pandas from the raw
tables of the shared generated city (kpis.md definitions, straight from the spec).

Every row of every level and period is compared (numerator, denominator, value), and the set of
rows must match: rows for every county of the city, every community from its establishment
month, every township (family B) and the city, for every month of int_months.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

PRIMARY = ("township", "village", "clinic")
FAR = date(9999, 12, 31)


@pytest.fixture(scope="module")
def con(city_con):
    return city_con


# -- helpers -------------------------------------------------------------------------------


def _d(x) -> date | None:
    return None if x is None or pd.isna(x) else pd.Timestamp(x).date()


def _month_end(d: date) -> date:
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def _month(d: date) -> date:
    return date(d.year, d.month, 1)


def raw(con, feed: str) -> pd.DataFrame:
    return con.execute(f"select * from raw.{feed} where _superseded_by is null").df()


class City:
    """The reference data of the city, with dated lookups."""

    def __init__(self, con):
        regions = raw(con, "regions")
        city = regions[regions.level == "city"]
        assert len(city) == 1
        self.city = str(city.region_code.iloc[0])
        cty = regions[(regions.level == "county") & (regions.parent_code == self.city)]
        self.counties = sorted(c for c in cty.region_code if c[:4] == self.city[:4])
        tw = regions[(regions.level == "township") & regions.parent_code.isin(self.counties)]
        self.townships = sorted(t for t, p in zip(tw.region_code, tw.parent_code, strict=True) if t[:6] == p)
        fac = raw(con, "facilities").set_index("facility_id")
        self.fac_county = fac.county_code.to_dict()
        self.fac_tier = fac.tier.to_dict()
        self.fac_parent = fac.parent_facility_id.to_dict()
        self.fac_township = {
            f: (t if isinstance(t, str) and t else fac.township_code.get(self.fac_parent.get(f)))
            for f, t in fac.township_code.items()
        }
        comms = raw(con, "communities")
        self.established = {c: _d(e) for c, e in zip(comms.community_id, comms.established_on, strict=True)}
        self.comm_county = dict(zip(comms.community_id, comms.county_code, strict=True))
        self.memberships = [
            (r.facility_id, r.community_id, _d(r.valid_from), _d(r.valid_to) or FAR)
            for r in raw(con, "memberships").itertuples()
        ]
        self.catchments = [
            (r.township_code, r.community_id, _d(r.valid_from), _d(r.valid_to) or FAR)
            for r in raw(con, "catchments").itertuples()
        ]
        self.months = [
            pd.Timestamp(m).date()
            for m in con.execute("select month from intermediate.int_months order by 1").df().month
        ]

    def member_map(self, m: date) -> dict[str, str]:
        me = _month_end(m)
        own = {f: c for f, c, a, b in self.memberships if a <= me <= b}
        out = {}
        for f in self.fac_county:
            c = own.get(f) or own.get(self.fac_parent.get(f))
            if c:
                out[f] = c
        return out

    def catchment_map(self, m: date) -> dict[str, str]:
        me = _month_end(m)
        return {t: c for t, c, a, b in self.catchments if a <= me <= b}

    def communities(self, m: date) -> list[str]:
        me = _month_end(m)
        return sorted(c for c, e in self.established.items() if e <= me)

    def plan_counties(self, m: date) -> set[str]:
        return {self.comm_county[c] for c in self.communities(m)} & set(self.counties)


@pytest.fixture(scope="module")
def city(con) -> City:
    return City(con)


@pytest.fixture(scope="module")
def encounters(con, city) -> pd.DataFrame:
    e = con.execute(
        "select insured_township_code, facility_id, facility_county_code, encounter_type, visit_date, "
        "discharge_date, referral from raw.encounters where _superseded_by is null"
    ).df()
    settled = np.where(e.encounter_type == "inpatient", e.discharge_date, e.visit_date)
    e["month"] = [_month(_d(x)) for x in settled]
    e["ins_county"] = e.insured_township_code.str[:6]
    e["fac_county"] = [city.fac_county.get(f, fc) for f, fc in zip(e.facility_id, e.facility_county_code, strict=True)]
    e["in_registry"] = e.facility_id.isin(city.fac_county.keys())
    e["primary"] = e.facility_id.map(city.fac_tier).isin(PRIMARY)
    e["in_county"] = (e.fac_county == e.ins_county).fillna(False).astype(bool)
    e["referral"] = e.referral.fillna("none")
    return e


def kpi(con, code: str) -> pd.DataFrame:
    df = con.execute(
        "select org_level, org_id, period_type, period, numerator, denominator, value, target, direction, status "
        "from marts.kpi_values where kpi_code = ?",
        [code],
    ).df()
    df["period"] = pd.to_datetime(df.period).dt.date
    return df


def add_ytd(monthly: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """monthly: org_level, org_id, period, measures → month rows + ytd rows (sums over the months)."""
    m = monthly.copy()
    m["period_type"] = "month"
    y = monthly.sort_values("period").copy()
    y["year"] = [p.year for p in y.period]
    y[measures] = y.groupby(["org_level", "org_id", "year"])[measures].cumsum()
    y = y.drop(columns="year")
    y["period_type"] = "ytd"
    return pd.concat([m, y], ignore_index=True)


def compare(actual: pd.DataFrame, expected: pd.DataFrame, kind: str = "ratio") -> None:
    """expected: org_level, org_id, period_type, period, num, den."""
    key = ["org_level", "org_id", "period_type", "period"]
    a = actual.set_index(key).sort_index()
    e = expected.set_index(key).sort_index()
    missing = e.index.difference(a.index)
    extra = a.index.difference(e.index)
    assert missing.empty, f"missing rows: {list(missing[:5])}"
    assert extra.empty, f"unexpected rows: {list(extra[:5])}"
    a = a.loc[e.index]
    np.testing.assert_allclose(a.numerator.astype(float), e.num.astype(float), rtol=1e-9)
    if kind == "ratio":
        np.testing.assert_allclose(a.denominator.astype(float), e.den.astype(float), rtol=1e-9)
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(e.den.astype(float) == 0, np.nan, e.num.astype(float) / e.den.astype(float))
        np.testing.assert_allclose(a.value.astype(float), want, rtol=1e-9)
        assert (a.status[np.isnan(want)] == "no_data").all()
    else:
        assert a.denominator.isna().all()
        np.testing.assert_allclose(a.value.astype(float), e.num.astype(float), rtol=1e-9)


# -- family A ------------------------------------------------------------------------------


def family_a_monthly(city: City, enc: pd.DataFrame) -> pd.DataFrame:
    rows = []
    by_month = dict(tuple(enc.groupby("month")))
    for m in city.months:
        e = by_month.get(m, enc.iloc[0:0]).copy()
        catch = city.catchment_map(m)
        member = city.member_map(m)
        e["catch"] = e.insured_township_code.map(catch)
        e["member"] = e.facility_id.map(member)
        oe = e[e.in_registry & e.encounter_type.isin(["outpatient", "emergency"])]

        def insured(sel: pd.DataFrame) -> dict:
            inp = sel[sel.encounter_type == "inpatient"]
            return {
                "all": len(sel),
                "in": int(sel.in_county.sum()),
                "inp": len(inp),
                "inp_in": int(inp.in_county.sum()),
                "up": int((sel.referral == "up").sum()),
                "down": int((sel.referral == "down").sum()),
            }

        def located(sel: pd.DataFrame) -> dict:
            return {"pc": int(sel.primary.sum()), "reg": len(sel)}

        county_vals = {}
        for c in city.counties:
            v = {**insured(e[e.ins_county == c]), **located(oe[oe.fac_county == c])}
            county_vals[c] = v
            rows.append({"org_level": "county", "org_id": c, "period": m, **v})
        for cm in city.communities(m):
            v = {**insured(e[e["catch"] == cm]), **located(oe[oe["member"] == cm])}
            rows.append({"org_level": "community", "org_id": cm, "period": m, **v})
        plan = city.plan_counties(m)
        tot = {
            k: sum(county_vals[c][k] for c in plan) for k in ("all", "in", "inp", "inp_in", "up", "down", "pc", "reg")
        }
        rows.append({"org_level": "city", "org_id": city.city, "period": m, **tot})
    return add_ytd(pd.DataFrame(rows), ["all", "in", "inp", "inp_in", "up", "down", "pc", "reg"])


@pytest.fixture(scope="module")
def a_expected(city, encounters) -> pd.DataFrame:
    return family_a_monthly(city, encounters)


@pytest.mark.parametrize(
    "code,num,den",
    [
        ("in_county_visit_rate", "in", "all"),
        ("in_county_inpatient_rate", "inp_in", "inp"),
        ("primary_care_visit_share", "pc", "reg"),
        ("upward_referrals", "up", None),
        ("downward_referrals", "down", None),
    ],
)
def test_family_a_matches_spec(con, a_expected, code, num, den):
    exp = a_expected.assign(num=a_expected[num], den=a_expected[den] if den else np.nan)
    compare(kpi(con, code), exp, "ratio" if den else "count")


def test_downward_referral_growth_like_for_like(con, city, encounters):
    down = encounters[encounters.referral == "down"]
    counts = down.groupby(["month", "insured_township_code"]).size()
    # "loaded" per insured county (the coverage key of encounters is insured county × month)
    loaded = set(zip(encounters.ins_county, encounters.month, strict=True))
    rows = []
    for p in city.months:
        catch = city.catchment_map(p)
        cur_months = [date(p.year, k, 1) for k in range(1, p.month + 1)]
        prev_months = [date(p.year - 1, k, 1) for k in range(1, p.month + 1)]
        complete = {c: all((c, x) in loaded for x in prev_months) for c in city.counties}
        plan = city.plan_counties(p)
        sub = counts[counts.index.get_level_values(0).isin(cur_months + prev_months)].reset_index(name="n")
        sub["cur"] = np.where(sub.month.isin(cur_months), sub.n, 0)
        sub["prev"] = np.where(sub.month.isin(prev_months), sub.n, 0)
        sub["county"] = sub.insured_township_code.str[:6]
        sub["comm"] = sub.insured_township_code.map(catch)

        groups = [("county", c, sub[sub.county == c], complete[c]) for c in city.counties]
        groups += [("community", cm, sub[sub.comm == cm], complete[city.comm_county[cm]]) for cm in city.communities(p)]
        groups.append(("city", city.city, sub[sub.county.isin(plan)], bool(plan) and all(complete[c] for c in plan)))
        for level, org, sel, ok in groups:
            cur, prev = float(sel.cur.sum()), float(sel.prev.sum())
            rows.append(
                {
                    "org_level": level,
                    "org_id": org,
                    "period_type": "ytd",
                    "period": p,
                    "num": cur - prev if ok else np.nan,
                    "den": prev if ok else np.nan,
                }
            )
    exp = pd.DataFrame(rows)
    act = kpi(con, "downward_referral_growth")
    key = ["org_level", "org_id", "period_type", "period"]
    a = act.set_index(key).sort_index()
    e = exp.set_index(key).sort_index()
    assert a.index.equals(e.index)
    np.testing.assert_allclose(a.numerator.astype(float), e.num.astype(float), rtol=1e-9)
    np.testing.assert_allclose(a.denominator.astype(float), e.den.astype(float), rtol=1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where((e.den == 0) | e.den.isna(), np.nan, e.num / e.den)
    np.testing.assert_allclose(a.value.astype(float), want, rtol=1e-9)
    # the first year never has a loaded previous-year span
    first_year = a[[p.year == city.months[0].year for p in a.index.get_level_values("period")]]
    assert (first_year.status == "no_data").all()


# -- family B ------------------------------------------------------------------------------


def _b_sums(s: pd.DataFrame, f: pd.DataFrame) -> dict:
    return {
        "tv": float(s[s.tier == "village"].wu.sum()),
        "ta": float(s.wu.sum()),
        "fv": float(f[f.tier == "village"].amount.astype(float).sum()),
        "fa": float(f.amount.astype(float).sum()),
    }


def test_village_shares_match_spec(con, city):
    svc = raw(con, "phs_services")
    w = raw(con, "phs_weights")
    weights = {(s, int(y)): float(v) for s, y, v in zip(w.service_code, w.year, w.weight, strict=True)}
    svc["month"] = svc.month.map(_d)
    svc["wu"] = [
        u * weights.get((s, m.year), 1.0) for u, s, m in zip(svc.units, svc.service_code, svc.month, strict=True)
    ]
    fund = raw(con, "phs_funds")
    fund["month"] = fund.month.map(_d)
    rows = []
    svc_m = dict(tuple(svc.groupby("month")))
    fund_m = dict(tuple(fund.groupby("month")))
    for m in city.months:
        member = city.member_map(m)
        s = svc_m.get(m, svc.iloc[0:0])
        f = fund_m.get(m, fund.iloc[0:0])

        s = s.assign(
            county=s.facility_id.map(city.fac_county),
            comm=s.facility_id.map(member),
            town=s.facility_id.map(city.fac_township),
            tier=s.facility_id.map(city.fac_tier),
        )
        f = f.assign(
            county=f.facility_id.map(city.fac_county),
            comm=f.facility_id.map(member),
            town=f.facility_id.map(city.fac_township),
            tier=f.facility_id.map(city.fac_tier),
        )
        county_vals = {}
        for c in city.counties:
            county_vals[c] = _b_sums(s[s.county == c], f[f.county == c])
            rows.append({"org_level": "county", "org_id": c, "period": m, **county_vals[c]})
        for cm in city.communities(m):
            rows.append(
                {"org_level": "community", "org_id": cm, "period": m, **_b_sums(s[s.comm == cm], f[f.comm == cm])}
            )
        for t in city.townships:
            rows.append({"org_level": "township", "org_id": t, "period": m, **_b_sums(s[s.town == t], f[f.town == t])})
        plan = city.plan_counties(m)
        rows.append(
            {
                "org_level": "city",
                "org_id": city.city,
                "period": m,
                **{k: sum(county_vals[c][k] for c in plan) for k in ("tv", "ta", "fv", "fa")},
            }
        )
    exp = add_ytd(pd.DataFrame(rows), ["tv", "ta", "fv", "fa"])
    compare(kpi(con, "village_phs_task_share"), exp.assign(num=exp.tv, den=exp.ta))
    compare(kpi(con, "village_phs_fund_share"), exp.assign(num=exp.fv, den=exp.fa))


# -- family E and targets ------------------------------------------------------------------


def test_family_e_reported_values(con, city):
    rep = raw(con, "reported_indicators")
    e_codes = set(con.execute("select kpi_code from marts.dim_kpi where family = 'E'").df().kpi_code)
    assert len(e_codes) == 14
    rep = rep[rep.indicator_code.isin(e_codes) & rep.region_code.isin([city.city, *city.counties])]
    vals = con.execute(
        "select kpi_code, org_level, org_id, period_type, period, numerator, denominator, value "
        "from marts.kpi_values where kpi_code in (select kpi_code from marts.dim_kpi where family = 'E')"
    ).df()
    assert len(vals) == len(rep)
    assert (vals.period_type == "year").all()
    assert vals.numerator.isna().all() and vals.denominator.isna().all()
    got = {(r.kpi_code, r.org_id, pd.Timestamp(r.period).date()): (r.org_level, r.value) for r in vals.itertuples()}
    for r in rep.itertuples():
        level, value = got[(r.indicator_code, r.region_code, date(int(r.year), 1, 1))]
        assert level == ("city" if r.region_code == city.city else "county")
        assert value == pytest.approx(float(r.value))


def test_status_follows_value_target_and_direction(con):
    df = con.execute(
        "select v.value, v.denominator, v.target, v.direction, v.status, v.band, k.min_denominator "
        "from marts.kpi_values v join marts.dim_kpi k using (kpi_code)"
    ).df()
    assert set(df.status) <= {"green", "amber", "red", "none", "insufficient", "no_data"}

    def expect(r) -> str:
        if pd.isna(r.value):
            return "no_data"
        if not pd.isna(r.denominator) and not pd.isna(r.min_denominator) and r.denominator < r.min_denominator:
            return "insufficient"
        if r.direction == "none" or pd.isna(r.target):
            return "none"
        v, t, b = round(r.value, 9), round(r.target, 9), r.band
        if r.direction == ">=":
            return "green" if v >= t else "amber" if v >= round(r.target - b, 9) else "red"
        return "green" if v <= t else "amber" if v <= round(r.target + b, 9) else "red"

    want = df.apply(expect, axis=1)
    bad = df[want != df.status]
    assert bad.empty, bad.head().to_string()
    assert {"green", "red", "no_data"} <= set(df.status)


def test_default_targets_by_year(con):
    df = con.execute(
        "select kpi_code, year(period) as y, min(target) as lo, max(target) as hi from marts.kpi_values "
        "where org_level = 'city' and kpi_code in ('village_phs_task_share', 'in_county_visit_rate', "
        "'upward_referrals') group by 1, 2"
    ).df()
    overrides = (
        con.execute("select distinct kpi_code from raw.targets where _superseded_by is null and org_level is null")
        .df()
        .kpi_code
    )
    for r in df.itertuples():
        if r.kpi_code in set(overrides):
            continue
        if r.kpi_code == "upward_referrals":
            assert pd.isna(r.lo)
        elif r.kpi_code == "village_phs_task_share":
            assert r.lo == r.hi == pytest.approx(0.45 if r.y == 2020 else 0.50)
        else:
            assert r.lo == r.hi == pytest.approx(0.90)
