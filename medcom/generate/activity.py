"""Activity feeds other than encounters: population, public health, funds, supervision,
workforce, reported indicators, target overrides. Small tables (pandas, money in yuan)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from medcom.generate.city import City
from medcom.generate.encounters import month_start
from medcom.generate.rng import rng_for

# service: (units per 1,000 residents per month, weight, village clinics do it)
PHS_SERVICES = {
    "health_records": (40.0, 1.0, True),
    "health_education": (10.0, 0.5, True),
    "immunization": (15.0, 1.0, False),
    "child_health": (6.0, 1.5, False),
    "maternal_health": (2.0, 2.0, False),
    "elderly_health": (12.0, 2.5, True),
    "hypertension": (20.0, 1.5, True),
    "diabetes": (8.0, 1.5, True),
    "mental_health": (1.0, 2.0, False),
    "tuberculosis": (0.3, 2.0, False),
    "tcm_health": (6.0, 1.0, True),
    "infectious_disease": (0.5, 1.0, True),
    "supervision_assist": (2.0, 0.8, True),
}
YUAN_PER_WORK_UNIT = 6.0


def month_end(ym: str) -> dt.date:
    return month_start(ym, 1) - dt.timedelta(days=1)


def years_of(months: list[str]) -> list[int]:
    return sorted({int(m[:4]) for m in months})


def _progress(months: list[str], ym: str) -> float:
    """Years since 2020-01 (for trends)."""
    y, m = map(int, ym.split("-"))
    return (y - 2020) + (m - 1) / 12.0


# ---------------------------------------------------------------------------- population
def population(city: City, years: list[int], scale: float, seed: int) -> pd.DataFrame:
    """Residents per township per year, at the generator's scale (consistent with the
    encounter volumes: scale 1.0 = the real city)."""
    rng = rng_for(seed, "population", *city.rng_key)
    rows = []
    tws = city.townships
    cover = rng.uniform(0.78, 0.90, len(tws))
    for y in years:
        for t, cov in zip(tws.itertuples(), cover, strict=True):
            res = max(10, int(round(t.residents * scale * (1 + 0.003 * (y - 2020)) * rng.uniform(0.995, 1.005))))
            rows.append(
                {"township_code": t.code, "year": y, "residents": res, "insured_residents": int(round(res * cov))}
            )
    return pd.DataFrame(rows)


def phs_weights(years: list[int]) -> pd.DataFrame:
    rows = []
    for y in years:
        for code, (_, w, _) in PHS_SERVICES.items():
            # 2021 revision: elderly health management weighs a little more
            wy = w + (0.5 if code == "elderly_health" and y >= 2021 else 0.0)
            rows.append({"service_code": code, "year": y, "weight": wy})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- public health
def phs_month(city: City, ym: str, scale: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(phs_services, phs_funds) of one month for township centres and village clinics.

    The village clinics' weighted share is 40–55% depending on the county, rising ~4
    points a year; it does not depend on how many village clinics the registry has.
    """
    rng = rng_for(seed, "phs", ym, *city.rng_key)
    f = city.facilities
    active = f.closed_on.isna()
    vill = f[(f.tier == "village") & active]
    vill_by_tw = vill.groupby("_township").facility_id.apply(list).to_dict()
    centre = f[f.tier == "township"].set_index("_township").facility_id.to_dict()
    p = _progress([], ym)
    codes = list(PHS_SERVICES)
    rate = np.array([PHS_SERVICES[c][0] for c in codes])
    weight = np.array([PHS_SERVICES[c][1] for c in codes])
    doable = np.array([PHS_SERVICES[c][2] for c in codes])
    doable_share = (rate * weight * doable).sum() / (rate * weight).sum()
    srows, frows = [], []
    for t in city.townships.itertuples():
        base = rng_for(seed, "phs-base", t.county_code).uniform(0.38, 0.47)
        vshare = float(np.clip(base + 0.04 * p + rng.normal(0, 0.02), 0.30, 0.62))
        frac_doable = min(0.92, vshare / doable_share)
        units = rng.poisson(t.residents * scale * rate / 1000.0)
        v_units = np.where(doable, rng.binomial(units, frac_doable), 0)
        c_units = units - v_units
        vids = vill_by_tw.get(t.code, [])
        if vids:
            share = rng.dirichlet(np.full(len(vids), 3.0))
            per_v = np.array([rng.multinomial(int(u), share) for u in v_units]).T  # (villages, services)
        else:
            per_v = np.zeros((0, len(codes)), int)
            c_units = units
        fund_noise = rng.uniform(0.92, 1.08, len(vids) + 1)
        for k, (fid, u) in enumerate([(centre[t.code], c_units), *zip(vids, per_v, strict=True)]):
            for code, n in zip(codes, u, strict=True):
                if n > 0:
                    srows.append({"facility_id": fid, "month": ym, "service_code": code, "units": int(n)})
            amount = float((u * weight).sum()) * YUAN_PER_WORK_UNIT * fund_noise[k]
            if amount > 0:
                frows.append({"facility_id": fid, "month": ym, "amount": round(amount, 2)})
    return pd.DataFrame(srows), pd.DataFrame(frows)


# ---------------------------------------------------------------------------- funds
def fund_budgets(
    city: City, months: list[str], tally: np.ndarray, tw_index: dict[str, int], pop: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """Budgets in line with the resident-scheme fund_paid actually generated for each
    community's catchment (execution 0.9–1.1; one community overspends)."""
    rng = rng_for(seed, "budgets", *city.rng_key)
    over = city.communities.community_id.iloc[int(rng.integers(len(city.communities)))]
    rows = []
    for y in years_of(months):
        ms = [(i, m) for i, m in enumerate(months) if int(m[:4]) == y]
        spend: dict[str, list[float]] = {}
        for i, m in ms:
            cat = city.community_of_township(month_end(m))
            for tw, cid in cat.items():
                spend.setdefault(cid, [0.0] * len(months))
                spend[cid][i] += tally[tw_index[tw], i] / 100.0
        for c in city.communities.itertuples():
            active = [i for i, m in ms if c.established_on <= month_end(m)]
            if not active or c.community_id not in spend:
                continue
            avg = sum(spend[c.community_id][i] for i in active) / len(active)
            execution = rng.uniform(1.04, 1.10) if c.community_id == over else rng.uniform(0.90, 1.0)
            budget = round(max(avg * 12 / execution, 1000.0), 2)
            pooled_est = budget / 0.80
            rr, qr, ci = (round(pooled_est * s, 2) for s in (0.08, 0.05, 0.07))
            pooled = round(budget + rr + qr + ci, 2)
            cat = city.community_of_township(month_end(months[active[-1]]))
            tws = [tw for tw, cid in cat.items() if cid == c.community_id]
            ins = int(pop[(pop.year == y) & pop.township_code.isin(tws)].insured_residents.sum())
            rows.append(
                {
                    "community_id": c.community_id,
                    "year": y,
                    "insured_residents": max(ins, 1),
                    "pooled_fund": pooled,
                    "risk_reserve": rr,
                    "quality_reserve": qr,
                    "critical_illness": ci,
                    "budget": budget,
                }
            )
    return pd.DataFrame(rows)


def fund_prepayments(city: City, months: list[str], budgets: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = rng_for(seed, "prepay", *city.rng_key)
    b = budgets.set_index(["community_id", "year"]).budget.to_dict()
    rows = []
    for m in months:
        for c in city.communities.itertuples():
            key = (c.community_id, int(m[:4]))
            if c.established_on <= month_end(m) and key in b:
                rows.append(
                    {
                        "community_id": c.community_id,
                        "month": m,
                        "amount": round(b[key] / 12 * rng.uniform(0.95, 1.0), 2),
                    }
                )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- supervision
# Columns of the supervision frames, so that a small city with no penalty (or inspection,
# complaint) in the months asked for still gives a frame the writers can split by year.
INSPECTION_COLUMNS = (
    "inspection_id",
    "facility_id",
    "kind",
    "planned_month",
    "completed_date",
    "result",
    "published",
    "full_record",
)
PENALTY_COLUMNS = ("case_id", "facility_id", "decided_date", "violation", "fine", "recovered_fund")
COMPLAINT_COLUMNS = ("complaint_id", "county_code", "facility_id", "received_date", "due_date", "closed_date")


def inspections(city: City, months: list[str], scale: float, seed: int) -> pd.DataFrame:
    rng = rng_for(seed, "inspections", *city.rng_key)
    f = city.facilities.reset_index(drop=True)
    tier = f.tier.to_numpy()
    p_random = np.select(
        [np.isin(tier, ["city", "county"]), tier == "township", tier == "public_health"], [0.08, 0.03, 0.02], 0.012
    )
    public = (f.ownership == "public").to_numpy()
    closed = f.closed_on.apply(lambda d: d if isinstance(d, dt.date) else dt.date.max).to_numpy()
    last = month_end(months[-1])
    rows = []
    seq: dict[str, int] = {}
    for m in months:
        p = _progress(months, m)
        m0 = month_start(m)
        is_open = np.array([d > m0 for d in closed])
        for kind, prob in (
            ("random", p_random),
            ("special", np.full(len(f), 0.004)),
            ("audit", np.where(public, 1 / 60, 0.0)),
        ):
            hit = np.flatnonzero((rng.random(len(f)) < prob) & is_open)
            for i in hit:
                county = f.county_code[i]
                seq[county] = seq.get(county, 0) + 1
                done = rng.random() < (0.88 + 0.03 * p if kind == "random" else 0.9)
                completed = m0 + dt.timedelta(days=int(rng.integers(0, 50))) if done else None
                if completed is not None and completed > last:
                    completed = None
                row = {
                    "inspection_id": f"JC{county}{m.replace('-', '')}{seq[county]:05d}",
                    "facility_id": f.facility_id[i],
                    "kind": kind,
                    "planned_month": m,
                    "completed_date": completed,
                    "result": None,
                    "published": None,
                    "full_record": None,
                }
                if completed is not None:
                    row["result"] = "violation" if rng.random() < 0.12 else "compliant"
                    row["published"] = bool(rng.random() < (0.90 + 0.03 * p if kind == "random" else 0.6))
                    row["full_record"] = bool(rng.random() < 0.96)
                elif rng.random() < 0.5:  # some systems write false for not-done inspections
                    row["published"] = False
                    row["full_record"] = False
                rows.append(row)
    return pd.DataFrame(rows, columns=list(INSPECTION_COLUMNS))


def penalties(city: City, months: list[str], scale: float, seed: int) -> pd.DataFrame:
    rng = rng_for(seed, "penalties", *city.rng_key)
    f = city.facilities
    kinds = ["illegal_practice", "insurance_fraud", "kickback", "unlicensed", "other"]
    kp = [0.35, 0.25, 0.1, 0.15, 0.15]
    rows = []
    for m in months:
        m0 = month_start(m)
        dim = (month_start(m, 1) - m0).days
        for county, res in city.spec.county_residents.items():
            cand = f[(f.county_code == county) & (f.tier.isin(["clinic", "village", "township", "county"]))]
            n = rng.poisson(max(0.3, 6 * scale * res / 700_000))
            for k in range(n):
                v = str(rng.choice(kinds, p=kp))
                fine = round(float(rng.choice([1000, 2000, 5000, 10000, 20000, 50000]) * rng.uniform(1, 3)), 2)
                rec = round(float(rng.uniform(5000, 300000)), 2) if v == "insurance_fraud" else 0.0
                rows.append(
                    {
                        "case_id": f"XZCF{county}{m.replace('-', '')}{k + 1:03d}",
                        "facility_id": cand.facility_id.iloc[int(rng.integers(len(cand)))],
                        "decided_date": m0 + dt.timedelta(days=int(rng.integers(0, dim))),
                        "violation": v,
                        "fine": fine if rng.random() < 0.9 else None,
                        "recovered_fund": rec if (rec or rng.random() < 0.5) else None,
                    }
                )
    return pd.DataFrame(rows, columns=list(PENALTY_COLUMNS))


def complaints(city: City, months: list[str], scale: float, seed: int) -> pd.DataFrame:
    rng = rng_for(seed, "complaints", *city.rng_key)
    f = city.facilities
    last = month_end(months[-1])
    rows = []
    units = [(city.city_code, 900_000), *city.spec.county_residents.items()]
    for m in months:
        m0 = month_start(m)
        dim = (month_start(m, 1) - m0).days
        for code, res in units:
            cand = f if code == city.city_code else f[f.county_code == code]
            n = rng.poisson(max(1.0, 25 * scale * res / 700_000))
            for k in range(n):
                received = m0 + dt.timedelta(days=int(rng.integers(0, dim)))
                due = received + dt.timedelta(days=int(rng.choice([15, 30])))
                u = rng.random()
                if u < 0.86:
                    closed = received + dt.timedelta(days=int(rng.integers(1, (due - received).days + 1)))
                elif u < 0.96:
                    closed = due + dt.timedelta(days=int(rng.integers(1, 40)))  # closed late
                else:
                    closed = None  # still open
                if closed is not None and closed > last:
                    closed = None
                fid = cand.facility_id.iloc[int(rng.integers(len(cand)))] if rng.random() < 0.7 else None
                rows.append(
                    {
                        "complaint_id": f"TS{code}{m.replace('-', '')}{k + 1:04d}",
                        "county_code": code,
                        "facility_id": fid,
                        "received_date": received,
                        "due_date": due,
                        "closed_date": closed,
                    }
                )
    return pd.DataFrame(rows, columns=list(COMPLAINT_COLUMNS))


def workforce_month(city: City, ym: str, seed: int) -> pd.DataFrame:
    """One row per open facility; staff stable over time, e-registration improving."""
    base = rng_for(seed, "workforce-base", *city.rng_key)
    f = city.facilities.reset_index(drop=True)
    n = len(f)
    tier = f.tier.to_numpy()
    lo = np.select(
        [tier == "city", tier == "county", tier == "township", tier == "public_health", tier == "clinic"],
        [250, 60, 8, 10, 1],
        1,
    )
    hi = np.select(
        [tier == "city", tier == "county", tier == "township", tier == "public_health", tier == "clinic"],
        [650, 320, 35, 45, 5],
        3,
    )
    phys0 = base.integers(lo, hi + 1)
    nurse_ratio = np.where(tier == "village", base.uniform(0.0, 1.0, n), base.uniform(0.9, 1.6, n))
    e_gap = base.random(n)  # facilities with a larger gap register later
    fac_e_lag = base.random(n)
    legal_lag = base.random(n)
    grade2 = f.grade.isin(["3A", "3B", "3C", "2A", "2B", "2C"]).to_numpy()
    rng = rng_for(seed, "workforce", ym, *city.rng_key)
    p = _progress([], ym)
    phys = np.maximum(0, phys0 + rng.integers(-1, 2, n) * (phys0 > 5))
    nurses = np.round(phys * nurse_ratio).astype(int)
    e_rate = np.clip(0.82 + 0.09 * p + 0.12 * (1 - e_gap), 0, 1)
    phys_e = np.minimum(phys, np.round(phys * e_rate + rng.uniform(-0.5, 0.5, n))).astype(int)
    nurses_e = np.minimum(nurses, np.round(nurses * np.clip(e_rate - 0.03, 0, 1))).astype(int)
    fac_e = fac_e_lag < 0.90 + 0.06 * p
    legal = grade2 & (legal_lag < np.where(p >= 1.0, 0.97, 0.55 + 0.3 * p))
    quality = grade2 & (legal_lag < 0.96) | (~grade2 & (base.random(n) < 0.3))
    m_end = month_end(ym)
    open_ = f.closed_on.apply(lambda d: d is None or d != d or d > m_end).to_numpy()
    out = pd.DataFrame(
        {
            "facility_id": f.facility_id,
            "month": ym,
            "physicians": phys,
            "physicians_e_registered": np.maximum(phys_e, 0),
            "nurses": nurses,
            "nurses_e_registered": np.maximum(nurses_e, 0),
            "facility_e_registered": fac_e,
            "legal_dept": legal,
            "quality_committee": quality,
        }
    )
    return out[open_].reset_index(drop=True)


def supervision_agencies(city: City, years: list[int], seed: int) -> pd.DataFrame:
    rng = rng_for(seed, "agencies", *city.rng_key)
    rows = []
    for code in [city.city_code, *city.counties]:
        staff = int(rng.integers(60, 90)) if code == city.city_code else int(rng.integers(18, 55))
        for y in years:
            st = staff + int(rng.integers(-2, 3))
            ratio = min(0.98, rng.uniform(0.70, 0.86) + 0.02 * (y - 2020))
            rows.append({"county_code": code, "year": y, "staff_total": st, "professional_staff": int(st * ratio)})
    return pd.DataFrame(rows)


# indicator: (2020 value low, high, yearly change)
INDICATORS = {
    "health_literacy": (0.17, 0.23, 0.015),
    "infant_mortality": (3.6, 5.0, -0.15),
    "maternal_mortality": (7.0, 13.0, -0.4),
    "diabetes_managed_rate": (0.55, 0.66, 0.015),
    "immunization_coverage": (0.88, 0.96, 0.005),
    "cvd_mortality": (195.0, 230.0, -3.0),
    "cancer_5y_survival": (0.40, 0.45, 0.005),
    "chronic_respiratory_mortality": (8.0, 11.0, -0.3),
    "regular_exercise": (0.37, 0.45, 0.01),
    "fitness_pass": (0.90, 0.95, 0.003),
    "mental_health_literacy": (0.14, 0.24, 0.015),
    "smoke_free_coverage": (0.18, 0.38, 0.03),
    "child_stunting": (0.045, 0.08, -0.004),
    "student_fitness_good": (0.44, 0.56, 0.01),
}


def reported_indicators(city: City, years: list[int], seed: int) -> pd.DataFrame:
    rng = rng_for(seed, "indicators", *city.rng_key)
    rows = []
    for code in [city.city_code, *city.counties]:
        for ind, (lo, hi, d) in INDICATORS.items():
            v0 = rng.uniform(lo, hi)
            for y in years:
                v = max(0.0, v0 + d * (y - 2020) + rng.normal(0, abs(d) * 0.3))
                if hi <= 1:
                    v = min(v, 0.999)
                rows.append(
                    {"region_code": code, "year": y, "indicator_code": ind, "value": round(v, 4 if hi <= 1 else 2)}
                )
    return pd.DataFrame(rows)


def target_overrides() -> pd.DataFrame:
    """A small `targets` file: local targets that override the default registry."""
    return pd.DataFrame(
        [
            {
                "kpi_code": "in_county_visit_rate",
                "org_level": "county",
                "org_id": "411025",
                "period_type": None,
                "year_from": 2021,
                "year_to": None,
                "target": 0.92,
                "band": 0.03,
                "policy_ref": "襄城县医共体建设考核细则 (示例)",
            },
            {
                "kpi_code": "primary_care_visit_share",
                "org_level": "county",
                "org_id": "411081",
                "period_type": "month",
                "year_from": 2020,
                "year_to": 2021,
                "target": 0.62,
                "band": None,
                "policy_ref": "禹州市医共体考核方案 (示例)",
            },
            {
                "kpi_code": "complaint_timely_closure",
                "org_level": "city",
                "org_id": None,
                "period_type": None,
                "year_from": 2021,
                "year_to": None,
                "target": 0.97,
                "band": 0.02,
                "policy_ref": "许昌市卫健委 (示例)",
            },
        ]
    )


# ---------------------------------------------------------------------------- the province's own rows
def province_rows(code: str, years: list[int], months: list[str], scale: float, seed: int) -> dict[str, pd.DataFrame]:
    """Rows a province's own code carries (feeds.md: complaints, supervision agencies and
    reported indicators may carry the province's code): the provincial supervision agency,
    the province's survey results, and complaints received by the province."""
    rng = rng_for(seed, "province", code)
    staff = int(rng.integers(90, 130))
    agencies = pd.DataFrame(
        [
            {
                "county_code": code,
                "year": y,
                "staff_total": staff + int(rng.integers(-3, 4)),
                "professional_staff": int(staff * min(0.97, 0.80 + 0.02 * (y - 2020))),
            }
            for y in years
        ]
    )
    ind = []
    for name, (lo, hi, d) in INDICATORS.items():
        v0 = rng.uniform(lo, hi)
        for y in years:
            v = max(0.0, v0 + d * (y - 2020))
            if hi <= 1:
                v = min(v, 0.999)
            ind.append({"region_code": code, "year": y, "indicator_code": name, "value": round(v, 4 if hi <= 1 else 2)})
    last = month_end(months[-1])
    comp = []
    for m in months:
        m0 = month_start(m)
        dim = (month_start(m, 1) - m0).days
        for k in range(int(rng.poisson(max(1.0, 40 * scale)))):
            received = m0 + dt.timedelta(days=int(rng.integers(0, dim)))
            due = received + dt.timedelta(days=30)
            closed = received + dt.timedelta(days=int(rng.integers(1, 45))) if rng.random() < 0.95 else None
            comp.append(
                {
                    "complaint_id": f"TS{code}{m.replace('-', '')}{k + 1:04d}",
                    "county_code": code,
                    "facility_id": None,
                    "received_date": received,
                    "due_date": due,
                    "closed_date": closed if closed is not None and closed <= last else None,
                }
            )
    return {
        "supervision_agencies": agencies,
        "reported_indicators": pd.DataFrame(ind),
        "complaints": pd.DataFrame(comp),
    }
