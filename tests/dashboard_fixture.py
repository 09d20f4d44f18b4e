"""A small published DuckDB snapshot with exactly the warehouse-contract tables (outputs.md).

Used by the dashboard tests until (and alongside) the real generated + ingested + built city:
`build_snapshot(home)` writes `home/published/warehouse-<ts>.duckdb`, points
`home/published/CURRENT` at it and returns the snapshot path. Values are realistic and
consistent (ratios of sums at every level), with the 45% → 50% target step of
`village_phs_task_share` between 2020 and 2021.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from dashboards.queries import MONTHLY_FEEDS  # one batch a month per feed the completeness grid expects

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "dbt_project" / "seeds"

CITY = ("411000", "许昌市")
COUNTIES = [("411025", "襄城县"), ("411081", "禹州市"), ("411082", "长葛市")]
# community_id, name, county, established
COMMUNITIES = [
    ("C411025A", "襄城县人民医院医共体", "411025", date(2019, 12, 1)),
    ("C411025B", "襄城县中医院医共体", "411025", date(2019, 12, 1)),
    ("C411081A", "禹州市人民医院医共体", "411081", date(2019, 12, 1)),
    ("C411082A", "长葛市人民医院医共体", "411082", date(2020, 7, 1)),
]
TOWNSHIPS = {  # community -> [(code, name)]
    "C411025A": [("411025100", "城关镇"), ("411025101", "颍桥回族镇")],
    "C411025B": [("411025102", "麦岭镇"), ("411025103", "茨沟乡")],
    "C411081A": [("411081100", "鸿畅镇"), ("411081101", "梁北镇")],
    "C411082A": [("411082100", "和尚桥镇"), ("411082101", "坡胡镇")],
}
HOSPITALS = {
    "C411025A": "襄城县人民医院",
    "C411025B": "襄城县中医院",
    "C411081A": "禹州市人民医院",
    "C411082A": "长葛市人民医院",
}
MONTHS = [date(2020 + i // 12, i % 12 + 1, 1) for i in range(24)]


def _catalogue() -> list[dict]:
    with open(SEEDS / "kpi_catalogue.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _targets() -> list[dict]:
    with open(SEEDS / "default_targets.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _orgs() -> pd.DataFrame:
    rows = [dict(org_level="city", org_id=CITY[0], name=CITY[1], parent_level=None, parent_id=None)]
    for code, name in COUNTIES:
        rows.append(dict(org_level="county", org_id=code, name=name, parent_level="city", parent_id=CITY[0]))
    for cid, name, county, est in COMMUNITIES:
        rows.append(
            dict(
                org_level="community",
                org_id=cid,
                name=name,
                parent_level="county",
                parent_id=county,
                county_code=county,
                community_id=cid,
                established_on=est,
            )
        )
    for cid, towns in TOWNSHIPS.items():
        county = cid[1:7]
        for code, name in towns:
            rows.append(dict(org_level="township", org_id=code, name=name, parent_level="county", parent_id=county))
    for cid, towns in TOWNSHIPS.items():
        county = cid[1:7]
        hosp = f"F{county}000{cid[-1]}"
        rows.append(
            dict(
                org_level="facility",
                org_id=hosp,
                name=HOSPITALS[cid],
                parent_level="community",
                parent_id=cid,
                tier="county",
                grade="2A",
                ownership="public",
                county_code=county,
                township_code=towns[0][0],
                community_id=cid,
            )
        )
        for i, (tcode, tname) in enumerate(towns):
            thc = f"F{tcode}0"
            rows.append(
                dict(
                    org_level="facility",
                    org_id=thc,
                    name=f"{tname}卫生院",
                    parent_level="community",
                    parent_id=cid,
                    tier="township",
                    grade="1",
                    ownership="public",
                    county_code=county,
                    township_code=tcode,
                    community_id=cid,
                )
            )
            for j, village in enumerate(["东村", "西村"] if i % 2 == 0 else ["南庄", "北庄"]):
                rows.append(
                    dict(
                        org_level="facility",
                        org_id=f"F{tcode}{j + 1}",
                        name=f"{tname}{village}卫生室",
                        parent_level="community",
                        parent_id=cid,
                        tier="village",
                        grade="none",
                        ownership="public",
                        county_code=county,
                        township_code=tcode,
                        community_id=cid,
                    )
                )
    df = pd.DataFrame(rows)
    for c in ("tier", "grade", "ownership", "county_code", "township_code", "community_id", "established_on"):
        if c not in df:
            df[c] = None
    return df[
        [
            "org_level",
            "org_id",
            "name",
            "parent_level",
            "parent_id",
            "tier",
            "grade",
            "ownership",
            "county_code",
            "township_code",
            "community_id",
            "established_on",
        ]
    ]


def _target_for(targets: list[dict], kpi: str, year: int) -> tuple[float | None, float]:
    for t in targets:
        if t["kpi_code"] != kpi:
            continue
        y0 = int(t["year_from"])
        y1 = int(t["year_to"]) if t["year_to"] else 9999
        if y0 <= year <= y1:
            return float(t["target"]), float(t["band"] or 0)
    return None, 0.0


def _status(value, den, target, band, direction, min_den) -> str:
    if value is None:
        return "no_data"
    if den is not None and min_den and den < min_den:
        return "insufficient"
    if direction == "none" or target is None:
        return "none"
    v, t = round(value, 9), round(target, 9)
    if direction == ">=":
        return "green" if v >= t else ("amber" if v >= round(t - band, 9) else "red")
    return "green" if v <= t else ("amber" if v <= round(t + band, 9) else "red")


def _kpi_values(orgs: pd.DataFrame, rng: random.Random) -> pd.DataFrame:
    cat = _catalogue()
    targets = _targets()
    est = {c[0]: c[3] for c in COMMUNITIES}
    comm_county = {c[0]: c[2] for c in COMMUNITIES}
    fac = orgs[orgs.org_level == "facility"]
    town_comm = {t: cid for cid, towns in TOWNSHIPS.items() for t, _ in towns}
    budgets = {
        (cid, y): (1.2e8 if y == 2020 else 1.3e8) * (0.7 + 0.15 * i)
        for i, (cid, *_) in enumerate(COMMUNITIES)
        for y in (2020, 2021)
    }
    rows: list[dict] = []

    def alive(cid: str, m: date) -> bool:
        return est[cid] <= m

    for k in cat:
        code, unit, direction = k["kpi_code"], k["unit"], k["direction"]
        levels = k["levels"].split()
        periods = k["periods"].split()
        min_den = float(k["min_denominator"]) if k["min_denominator"] else 0.0
        fam = k["family"]
        if "year" in periods:
            years = [date(2020, 1, 1), date(2021, 1, 1)]
            for y in years:
                target, band = _target_for(targets, code, y.year)
                base = target if target is not None else (0.5 if unit == "fraction" else 10.0)
                for lvl, oid in [("city", CITY[0])] + [("county", c) for c, _ in COUNTIES]:
                    v = base * rng.uniform(0.9, 1.08)
                    if unit == "fraction":
                        v = min(v, 1.0)
                    num = den = None
                    if code == "supervisor_professional_ratio":
                        den = float(rng.randint(40, 90))
                        num = float(round(den * v))
                        v = num / den
                    rows.append(
                        dict(
                            kpi_code=code,
                            org_level=lvl,
                            org_id=oid,
                            period_type="year",
                            period=y,
                            numerator=num,
                            denominator=den,
                            value=v,
                            target=target,
                            direction=direction,
                            status=_status(v, den, target, band, direction, min_den),
                        )
                    )
            continue
        # leaves: which org each leaf value belongs to at each level
        if "facility" in levels:
            leaves = [
                (r.org_id, {"facility": r.org_id, "community": r.community_id, "county": r.county_code})
                for r in fac.itertuples()
            ]
        elif "township" in levels:
            leaves = [(t, {"township": t, "community": c, "county": comm_county[c]}) for t, c in town_comm.items()]
        elif "community" in levels:
            leaves = [(c, {"community": c, "county": comm_county[c]}) for c in est]
        else:
            leaves = [(c, {"county": c}) for c, _ in COUNTIES]
        leaf_comm = {
            lid: ups.get("community") or next((c for c in est if comm_county[c] == ups["county"]), None)
            for lid, ups in leaves
        }
        rate_base = _target_for(targets, code, 2021)[0] or {"fraction": 0.6}.get(unit, 0.6)
        data: dict[tuple, list[float]] = {}
        for m in MONTHS:
            for lid, ups in leaves:
                cid = leaf_comm[lid]
                if fam in "ABC" and cid and not alive(cid, m):
                    continue
                if unit == "fraction":
                    if code == "fund_budget_execution":
                        den = budgets[(ups["community"], m.year)] / 12
                        num = den * rng.uniform(0.85, 1.12)
                    else:
                        den = float(rng.randint(40, 900) if fam in "AB" else rng.randint(3, 40))
                        if code.startswith("village_phs"):
                            rate = rng.uniform(0.38, 0.58)
                        else:
                            rate = min(1.0, rate_base * rng.uniform(0.9, 1.06))
                        num = float(round(den * rate))
                    if code == "e_registration_physicians" and lid.endswith("2"):
                        den = 0.0  # a clinic with no physicians: no_data
                        num = 0.0
                else:
                    num = float(rng.randint(0, 25)) if unit == "count" else round(rng.uniform(0, 5e4), 2)
                    den = None
                for lvl in levels:
                    key_org = CITY[0] if lvl == "city" else ups.get(lvl)
                    if key_org is None:
                        continue
                    acc = data.setdefault((lvl, key_org, m), [0.0, 0.0 if den is not None else None])
                    acc[0] += num
                    if den is not None:
                        acc[1] += den
        for (lvl, oid, m), (num, den) in data.items():
            for pt in periods:
                if pt == "month":
                    n, d = num, den
                else:
                    n = sum(
                        v[0]
                        for (l2, o2, m2), v in data.items()
                        if l2 == lvl and o2 == oid and m2.year == m.year and m2 <= m
                    )
                    d = (
                        sum(
                            v[1]
                            for (l2, o2, m2), v in data.items()
                            if l2 == lvl and o2 == oid and m2.year == m.year and m2 <= m
                        )
                        if den is not None
                        else None
                    )
                    if code == "downward_referral_growth":
                        d = n / 1.08 if m.year > 2020 else 0.0
                target, band = _target_for(targets, code, m.year)
                value = n if d is None else n / d if d else None
                rows.append(
                    dict(
                        kpi_code=code,
                        org_level=lvl,
                        org_id=oid,
                        period_type=pt,
                        period=m,
                        numerator=n,
                        denominator=d,
                        value=value,
                        target=target,
                        direction=direction,
                        status=_status(value, d, target, band, direction, min_den),
                    )
                )
    return pd.DataFrame(rows)


def _audit(orgs: pd.DataFrame, rng: random.Random) -> dict[str, pd.DataFrame]:
    batches, dq, quarantine, replacements, runs, coverage = [], [], [], [], [], []
    county_of = {c[0]: c[2] for c in COMMUNITIES} | {c: c for c, _ in COUNTIES}
    n = 0
    for m in MONTHS:
        nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        run_id = f"run-{m:%Y%m}"
        runs.append(dict(run_id=run_id, started_at=datetime(nxt.year, nxt.month, 5, 9), finished_at=None, files=0))
        for feed in MONTHLY_FEEDS:
            keys = [c[0] for c in COMMUNITIES if c[3] <= m] if feed == "fund_prepayments" else [c for c, _ in COUNTIES]
            for key in keys:
                n += 1
                if (feed, key, m) == ("workforce", "411081", date(2021, 3, 1)):
                    continue  # missing
                day = 5 if (n % 17) else 14  # every 17th file arrives late
                received = datetime(nxt.year, nxt.month, day, 9, rng.randint(0, 59))
                verdict, reasons, q = "accepted", None, 0
                if n % 41 == 0:
                    verdict, reasons = "accepted_with_quarantine", "3 rows quarantined"
                    q = 3
                bid = f"b{n:05d}"
                if (feed, key, m) == ("encounters", "411082", date(2021, 6, 1)):
                    batches.append(
                        dict(
                            batch_id=bid + "r",
                            run_id=run_id,
                            feed=feed,
                            file_name=f"{feed}_{m:%Y-%m}_{key}.csv",
                            sha256=f"{n:064x}"[::-1],
                            received_at=received - timedelta(days=1),
                            verdict="rejected",
                            rows_read=1200,
                            rows_loaded=0,
                            rows_quarantined=0,
                            reasons="too many invalid rows: 60 of 1200 (more than 1% and at least 5)",
                            coverage=None,
                        )
                    )
                if (feed, key, m) == ("phs_funds", "411025", date(2021, 9, 1)):
                    verdict, reasons = "rejected", "missing required column(s): amount"
                rows_read = rng.randint(200, 3000) if feed == "encounters" else rng.randint(5, 80)
                batches.append(
                    dict(
                        batch_id=bid,
                        run_id=run_id,
                        feed=feed,
                        file_name=f"{feed}_{m:%Y-%m}_{key}.csv",
                        sha256=f"{n:064x}",
                        received_at=received,
                        verdict=verdict,
                        rows_read=rows_read,
                        rows_loaded=0 if verdict == "rejected" else rows_read - q,
                        rows_quarantined=q,
                        reasons=reasons,
                        coverage=None if verdict == "rejected" else f"{key}:{m:%Y-%m}",
                    )
                )
                dq.append(
                    dict(
                        batch_id=bid,
                        expectation=f"{feed}.row_count",
                        success=True,
                        observed_value=str(rows_read),
                        unexpected_count=0,
                    )
                )
                if q:
                    dq.append(
                        dict(
                            batch_id=bid,
                            expectation=f"{feed}.fund_paid.le_total_cost"
                            if feed == "encounters"
                            else f"{feed}.facility_id.in_registry",
                            success=False,
                            observed_value=f"{q} unexpected",
                            unexpected_count=q,
                        )
                    )
                    for r in range(q):
                        quarantine.append(
                            dict(
                                batch_id=bid,
                                row_number=10 + r * 7,
                                reason="fund_paid is larger than total_cost"
                                if feed == "encounters"
                                else "facility_id: 'X999' is not in the facility registry",
                                row_json=json.dumps(
                                    {"facility_id": "X999", "patient_id": "9f3a" + "0" * 60, "total_cost": "=1+1"},
                                    ensure_ascii=False,
                                ),
                            )
                        )
    for b in batches:  # audit.batch_coverage, as ingest writes it (rejected files too, nothing loaded)
        rest = b["file_name"][len(b["feed"]) + 1 :]  # <feed>_<YYYY-MM>_<key>.csv
        month, key = rest[:7], rest[8:].removesuffix(".csv")
        coverage.append(
            dict(
                batch_id=b["batch_id"],
                feed=b["feed"],
                org=key,
                county=county_of[key],
                period=month,
                rows_loaded=b["rows_loaded"],
                rows_quarantined=b["rows_quarantined"],
            )
        )
    replacements.append(
        dict(
            old_batch_id="b00001",
            new_batch_id="b00002",
            feed="encounters",
            coverage_key="411025:2020-01",
            rows_replaced=120,
        )
    )
    return {
        "batch_coverage": pd.DataFrame(coverage),
        "ingest_batches": pd.DataFrame(batches),
        "dq_results": pd.DataFrame(dq),
        "quarantine": pd.DataFrame(quarantine),
        "replacements": pd.DataFrame(replacements),
        "runs": pd.DataFrame(runs),
    }


def _facts(orgs: pd.DataFrame, rng: random.Random) -> dict[str, pd.DataFrame]:
    fac = orgs[orgs.org_level == "facility"].reset_index(drop=True)
    insp, comp, prepay, budgets, enc = [], [], [], [], []
    for i in range(120):
        f = fac.iloc[rng.randrange(len(fac))]
        m = MONTHS[rng.randrange(len(MONTHS))]
        done = rng.random() < 0.8 or m < date(2021, 6, 1)
        cd = m + timedelta(days=rng.randint(3, 40)) if done else None
        insp.append(
            dict(
                inspection_id=f"JC{i:05d}",
                facility_id=f.org_id,
                kind=rng.choice(["random", "random", "special", "audit"]),
                planned_month=m,
                completed_date=cd,
                result=(rng.choice(["compliant", "violation"]) if cd else None),
                published=bool(cd) and rng.random() < 0.9,
                full_record=bool(cd) and rng.random() < 0.95,
            )
        )
    for i in range(90):
        county = rng.choice([c for c, _ in COUNTIES] + [CITY[0]])
        rec = MONTHS[rng.randrange(len(MONTHS))] + timedelta(days=rng.randint(0, 27))
        due = rec + timedelta(days=15)
        closed = rec + timedelta(days=rng.randint(2, 25)) if rng.random() < 0.85 else None
        comp.append(
            dict(
                complaint_id=f"TS{i:05d}",
                county_code=county,
                facility_id=None,
                received_date=rec,
                due_date=due,
                closed_date=closed,
            )
        )
    for i, (cid, _, _, est) in enumerate(COMMUNITIES):
        for y in (2020, 2021):
            b = round((1.2e8 if y == 2020 else 1.3e8) * (0.7 + 0.15 * i), 2)
            budgets.append(
                dict(
                    community_id=cid,
                    year=y,
                    insured_residents=300000 + 40000 * i,
                    pooled_fund=round(b * 1.25, 2),
                    risk_reserve=round(b * 0.1, 2),
                    quality_reserve=round(b * 0.05, 2),
                    critical_illness=round(b * 0.1, 2),
                    budget=b,
                )
            )
        for m in MONTHS:
            if m >= est:
                prepay.append(dict(community_id=cid, month=m, amount=round(b / 12 * rng.uniform(0.85, 0.95), 2)))
    towns = [t for ts in TOWNSHIPS.values() for t, _ in ts]
    for i in range(300):
        f = fac.iloc[rng.randrange(len(fac))]
        t = rng.choice(towns)
        m = MONTHS[rng.randrange(len(MONTHS))]
        v = m + timedelta(days=rng.randint(0, 27))
        typ = rng.choice(["outpatient", "outpatient", "emergency", "inpatient"])
        cost = round(rng.uniform(30, 8000), 2)
        scheme = rng.choice(["resident", "resident", "employee", "self_pay"])
        enc.append(
            dict(
                encounter_id=f"E{i:07d}",
                patient_id=f"{rng.getrandbits(128):032x}",
                insured_township_code=t,
                facility_id=f.org_id,
                facility_county_code=f.county_code,
                encounter_type=typ,
                visit_date=v,
                discharge_date=v + timedelta(days=3) if typ == "inpatient" else None,
                referral=rng.choice(["none"] * 8 + ["up", "down"]),
                scheme=scheme,
                total_cost=cost,
                fund_paid=0.0 if scheme == "self_pay" else round(cost * 0.6, 2),
                diagnosis_code="J06.9",
                month=m,
                insured_county_code=t[:6],
                is_in_county=f.county_code == t[:6],
                facility_tier=f.tier,
                is_primary_care=f.tier in ("township", "village", "clinic"),
                catchment_community_id=next(c for c, ts in TOWNSHIPS.items() if t in [x for x, _ in ts]),
                member_community_id=f.community_id,
            )
        )
    return {
        "fct_inspections": pd.DataFrame(insp),
        "fct_complaints": pd.DataFrame(comp),
        "fct_fund_prepayments": pd.DataFrame(prepay),
        "fct_fund_budgets": pd.DataFrame(budgets),
        "fct_encounters": pd.DataFrame(enc),
    }


def _fund_monthly(kv: pd.DataFrame, prepay: pd.DataFrame, orgs: pd.DataFrame) -> pd.DataFrame:
    """marts.fct_fund_monthly as the dbt model defines it, from the fixture's fund_budget_execution rows."""
    f = kv[(kv.kpi_code == "fund_budget_execution") & (kv.org_level == "community")]
    m = f[f.period_type == "month"].set_index(["org_id", "period"])
    y = f[f.period_type == "ytd"].set_index(["org_id", "period"])
    pp = prepay.set_index(["community_id", "month"]).amount
    names = orgs.set_index("org_id").name
    parents = orgs.set_index("org_id").parent_id
    rows = []
    for (cid, month), r in m.iterrows():
        ytd = y.loc[(cid, month)]
        budget = r.denominator * 12
        elapsed = round(ytd.denominator / r.denominator)
        prepaid = float(pp.get((cid, month), 0.0))
        prepaid_ytd = float(sum(v for (c, mm), v in pp.items() if c == cid and mm.year == month.year and mm <= month))
        projected = ytd.numerator * 12 / elapsed
        rows.append(
            dict(
                community_id=cid,
                community_name=names[cid],
                county_code=parents[cid],
                month=month,
                year=month.year,
                budget=budget,
                months_elapsed=elapsed,
                spend=r.numerator,
                spend_ytd=ytd.numerator,
                budget_month=r.denominator,
                budget_ytd=ytd.denominator,
                prepayment=prepaid,
                prepayment_ytd=prepaid_ytd,
                execution_rate_ytd=ytd.numerator / ytd.denominator,
                projected_spend_year=projected,
                projected_balance=budget - projected,
                projected_status="surplus" if budget - projected >= 0 else "overspend",
            )
        )
    return pd.DataFrame(rows)


def _deliveries(coverage: pd.DataFrame, batches: pd.DataFrame) -> pd.DataFrame:
    """marts.dq_deliveries of the fixture: every owed delivery (dense monthly feeds per county and month;
    population and supervision agencies once a year, fund budgets once the county has a community —
    none of the yearly files was sent) with what its batches did."""
    b = coverage.merge(batches[["batch_id", "verdict", "received_at"]], on="batch_id")
    rows = []
    for feed in ("encounters", "phs_services", "phs_funds", "workforce"):
        for county, _ in COUNTIES:
            for m in MONTHS:
                got = b[(b.feed == feed) & (b.county == county) & (b.period == f"{m:%Y-%m}")]
                ok = got[got.verdict.isin(["accepted", "accepted_with_quarantine"])]
                first = ok.received_at.min() if not ok.empty else None
                end = (m.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
                rows.append(
                    dict(
                        feed=feed, cadence="month", county_code=county, period_start=m, period_end=end,
                        accepted=int(not ok.empty), rejected_only=int(ok.empty and not got.empty),
                        late=int(first is not None and first.date() > end + timedelta(days=10)),
                        first_accepted_at=first, rows_loaded=int(ok.rows_loaded.sum()),
                        rows_quarantined=int(ok.rows_quarantined.sum()), failed_expectations=0,
                        warnings=None, warnings_zh=None,
                    )
                )  # fmt: skip
    for year in sorted({m.year for m in MONTHS}):
        for county, _ in COUNTIES:
            has_comm = any(c[2] == county and c[3] <= date(year, 12, 31) for c in COMMUNITIES)
            for feed in ("population", "supervision_agencies", *(["fund_budgets"] if has_comm else [])):
                rows.append(
                    dict(
                        feed=feed, cadence="year", county_code=county, period_start=date(year, 1, 1),
                        period_end=date(year, 12, 31), accepted=0, rejected_only=0, late=0, first_accepted_at=None,
                        rows_loaded=0, rows_quarantined=0, failed_expectations=0, warnings=None, warnings_zh=None,
                    )
                )  # fmt: skip
    df = pd.DataFrame(rows)
    df["first_accepted_at"] = pd.to_datetime(df.first_accepted_at)
    return df


def build_snapshot(home: Path, seed: int = 3) -> Path:
    """Write a contract snapshot under home/published and point CURRENT at it."""
    rng = random.Random(seed)
    home = Path(home)
    pub = home / "published"
    pub.mkdir(parents=True, exist_ok=True)
    snap = pub / f"warehouse-{datetime.now():%Y%m%dT%H%M%S%f}Z.duckdb"
    orgs = _orgs()
    kv = _kpi_values(orgs, rng)
    cat = pd.DataFrame(_catalogue())
    dim_kpi = cat[
        [
            "kpi_code",
            "name_zh",
            "name_en",
            "family",
            "unit",
            "direction",
            "formula_zh",
            "formula_en",
            "source_feeds",
            "policy_ref",
        ]
    ]
    con = duckdb.connect(str(snap))
    try:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA audit;")
        tables = {"marts.dim_org": orgs, "marts.kpi_values": kv, "marts.dim_kpi": dim_kpi}
        tables.update({f"marts.{k}": v for k, v in _facts(orgs, rng).items()})
        tables.update({f"audit.{k}": v for k, v in _audit(orgs, rng).items()})
        tables["marts.fct_fund_monthly"] = _fund_monthly(kv, tables["marts.fct_fund_prepayments"], orgs)
        tables["marts.dq_deliveries"] = _deliveries(tables["audit.batch_coverage"], tables["audit.ingest_batches"])
        for name, df in tables.items():
            con.register("_df", df)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _df")
            con.unregister("_df")
        con.execute("ALTER TABLE marts.kpi_values ALTER period TYPE DATE")
        for t, c in [
            ("fct_inspections", "planned_month"),
            ("fct_inspections", "completed_date"),
            ("fct_complaints", "received_date"),
            ("fct_complaints", "due_date"),
            ("fct_complaints", "closed_date"),
            ("fct_fund_prepayments", "month"),
            ("fct_encounters", "visit_date"),
            ("fct_encounters", "discharge_date"),
            ("fct_encounters", "month"),
            ("fct_fund_monthly", "month"),
            ("dq_deliveries", "period_start"),
            ("dq_deliveries", "period_end"),
        ]:
            con.execute(f"ALTER TABLE marts.{t} ALTER {c} TYPE DATE")
        con.execute("ALTER TABLE marts.fct_complaints ALTER facility_id TYPE VARCHAR")
        con.execute("ALTER TABLE audit.runs ALTER finished_at TYPE TIMESTAMP")
        con.execute("ALTER TABLE audit.ingest_batches ALTER coverage TYPE VARCHAR")
        con.execute("ALTER TABLE audit.ingest_batches ALTER reasons TYPE VARCHAR")
    finally:
        con.close()
    (pub / "CURRENT").write_text(snap.name + "\n", encoding="utf-8")
    target = home / "dbt" / "target"
    target.mkdir(parents=True, exist_ok=True)
    manifest = {
        "nodes": {
            "model.medcom.kpi_values": {
                "resource_type": "model",
                "schema": "marts",
                "name": "kpi_values",
                "description": "One row per KPI × level × org × period type × period",
                "columns": {"status": {"description": "green / amber / red / none / insufficient / no_data"}},
            },
        }
    }
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return snap


if __name__ == "__main__":  # python tests/dashboard_fixture.py HOME
    import sys

    print(build_snapshot(Path(sys.argv[1])))


# -- pytest fixtures (import them into a test module: `from dashboard_fixture import dash_home`) ------------
try:
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def dash_snapshot_home(tmp_path_factory) -> Path:
        """MEDCOM_HOME holding the contract fixture snapshot (built once per session)."""
        home = tmp_path_factory.mktemp("dashboard") / "home"
        build_snapshot(home)
        return home

    @pytest.fixture
    def dash_home(dash_snapshot_home, monkeypatch) -> Path:
        """Point MEDCOM_HOME at the dashboard snapshot for one test."""
        monkeypatch.setenv("MEDCOM_HOME", str(dash_snapshot_home))
        monkeypatch.delenv("MEDCOM_DASHBOARD_COUNTY", raising=False)
        return dash_snapshot_home
