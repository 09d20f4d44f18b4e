"""Encounters (就诊结算记录): vectorised, chunked generation per insured county × month.

Model (per insured county): a pool of insured people (scale × residents) with a township,
a scheme (resident / employee) and a patient_id (mostly 18-digit resident ID numbers, some
15-digit old IDs, some 10-digit insurance numbers with leading zeros). Each month
≈ 0.455 encounters per person (seasonal), 3% inpatient, 5% emergency. Care is local
(village clinics, township centres) for most outpatient visits, inpatients go to county
and city hospitals; 7–15% of care is out of county (city hospitals, other counties,
out-of-city hospitals that are not in the registry). In-county and primary-care shares
vary by county and improve slowly over time; down-referrals grow ~12% a year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medcom.generate.city import City
from medcom.generate.ids import digit_strings, old_resident_ids, resident_ids
from medcom.generate.rng import rng_for

CHUNK = 200_000
RATE_PER_PERSON_MONTH = 0.455  # 2M a month for 4.4M people

# facility categories
CITY, COUNTY, TOWNSHIP, VILLAGE, CLINIC, PUBLIC_HEALTH, OUTSIDE = range(7)
TIER_CAT = {
    "city": CITY,
    "county": COUNTY,
    "township": TOWNSHIP,
    "village": VILLAGE,
    "clinic": CLINIC,
    "public_health": PUBLIC_HEALTH,
}

# hospitals outside the city (not in the registry); county None = unknown place
OUTSIDE_FACILITIES = [
    ("H410105001", "410105"),
    ("H410105002", "410105"),
    ("H410102001", "410102"),
    ("H411102001", "411102"),
    ("H410402001", "410402"),
    ("H110102001", "110102"),
    ("X0000000001", None),
    ("X0000000002", None),
]

# median cost (yuan) by encounter type × facility category
MEDIAN_COST = {
    0: {CITY: 380, COUNTY: 220, TOWNSHIP: 75, VILLAGE: 35, CLINIC: 60, OUTSIDE: 600},  # outpatient
    1: {CITY: 700, COUNTY: 450, TOWNSHIP: 150, VILLAGE: 60, CLINIC: 90, OUTSIDE: 900},  # emergency
    2: {CITY: 13000, COUNTY: 6500, TOWNSHIP: 2200, VILLAGE: 1500, CLINIC: 1500, OUTSIDE: 22000},  # inpatient
}
FUND_RATIO = {  # resident scheme; employees +0.12
    0: {CITY: 0.30, COUNTY: 0.35, TOWNSHIP: 0.55, VILLAGE: 0.60, CLINIC: 0.30, OUTSIDE: 0.20},
    1: {CITY: 0.30, COUNTY: 0.35, TOWNSHIP: 0.40, VILLAGE: 0.40, CLINIC: 0.30, OUTSIDE: 0.25},
    2: {CITY: 0.60, COUNTY: 0.72, TOWNSHIP: 0.85, VILLAGE: 0.85, CLINIC: 0.70, OUTSIDE: 0.50},
}
TYPES = np.array(["outpatient", "emergency", "inpatient"], dtype=object)
REFERRALS = ["none", "up", "down"]
SCHEMES = ["resident", "employee", "self_pay"]
DIAGNOSES = [
    "J06.9",
    "I10",
    "E11.9",
    "K29.7",
    "J20.9",
    "M54.5",
    "I63.9",
    "I25.1",
    "J18.9",
    "N39.0",
    "K80.2",
    "O80",
    "S52.5",
    "R50.9",
    "A09",
    "J44.1",
    "C34.9",
    "K35.8",
    "H10.9",
    "L30.9",
    "Z00.0",
    "B34.9",
    "I50.9",
    "E78.5",
    "M17.9",
    "N18.9",
    "F32.9",
    "G43.9",
    "R10.4",
    "Z34.9",
]
DIAG_P = np.array([18, 14, 9, 6, 6, 5, 3, 4, 4, 3, 1, 1, 1, 3, 2, 2, 1, 1, 2, 2, 4, 2, 1, 2, 2, 1, 1, 1, 2, 1], float)
DIAG_P /= DIAG_P.sum()


def month_start(ym: str, offset: int = 0) -> dt.date:
    y, m = map(int, ym.split("-"))
    k = y * 12 + (m - 1) + offset
    return dt.date(k // 12, k % 12 + 1, 1)


@dataclass
class CountyParams:
    in_rate_out: float
    in_rate_inp: float
    primary: float
    down: float
    fcc_null: float  # share of rows with an empty facility_county_code


@dataclass
class PeoplePool:
    county: str
    n: int
    township: np.ndarray  # index into EncounterModel.tw_codes
    employee: np.ndarray  # bool
    patient_id: pa.Array


@dataclass
class EncounterModel:
    city: City
    seed: int
    scale: float
    # hospitals of the other cities of a province (facility_id, county_code): registry
    # facilities of the warehouse where some of this city's out-of-county care goes
    other_cities: list[tuple[str, str]] = field(default_factory=list)
    fac_id: pa.Array = field(init=False)
    fac_county: pa.Array = field(init=False)
    fac_cat: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        f = self.city.facilities
        active = f.closed_on.isna().to_numpy()
        spec = self.city.spec
        outside = list(spec.outside_facilities) + list(self.other_cities)
        ids = f.facility_id.tolist() + [x for x, _ in outside]
        counties = f.county_code.tolist() + [c for _, c in outside]
        self.fac_id = pa.array(ids, pa.string())
        self.fac_county = pa.array(counties, pa.string())
        self.fac_cat = np.array([TIER_CAT[t] for t in f.tier] + [OUTSIDE] * len(outside), np.int8)
        n_reg = len(f)
        self.outside_idx = np.arange(n_reg, n_reg + len(outside))
        tws = self.city.townships
        # township index space: city townships, then outside insured pseudo-townships
        out_tw = [f"{c}{k:03d}" for c in spec.outside_insured for k in (1, 2, 3)]
        self.tw_codes = tws.code.tolist() + out_tw
        self.tw_county = np.array(tws.county_code.tolist() + [c[:6] for c in out_tw])
        self.tw_arrow = pa.array(self.tw_codes, pa.string())
        tw_pos = {c: i for i, c in enumerate(self.tw_codes)}
        eff_tw = f._township.map(lambda c: tw_pos.get(c, -1) if isinstance(c, str) else -1).to_numpy()
        fid_pos = {x: i for i, x in enumerate(f.facility_id)}
        tier = f.tier.to_numpy()
        county = f.county_code.to_numpy()
        # township centre per township
        self.centre = np.full(len(self.tw_codes), -1, np.int64)
        for i in np.flatnonzero(tier == "township"):
            self.centre[eff_tw[i]] = i
        # village clinics per township (CSR)
        vill = np.flatnonzero((tier == "village") & active)
        vill = vill[np.argsort(eff_tw[vill], kind="stable")]
        counts = np.bincount(eff_tw[vill], minlength=len(self.tw_codes))
        self.vill_list = vill
        self.vill_count = counts
        self.vill_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.by_county: dict[str, dict[str, np.ndarray]] = {}
        city_h = np.flatnonzero(tier == "city")
        all_county_h = np.flatnonzero(tier == "county")
        for c in self.city.counties:
            self.by_county[c] = {
                "county_h": np.flatnonzero((tier == "county") & (county == c)),
                "city_h_in": city_h[county[city_h] == c],
                "city_h_out": city_h[county[city_h] != c],
                "other_county_h": all_county_h[county[all_county_h] != c],
                "clinics": np.flatnonzero((tier == "clinic") & (county == c) & active),
                "centres": np.flatnonzero((tier == "township") & (county == c)),
            }
        self.by_county["_outside"] = {"city_h_out": city_h, "other_county_h": all_county_h}
        self.fid_pos = fid_pos
        self.params = {c: self._params(c) for c in self.city.counties}
        self._pools: dict[str, PeoplePool] = {}

    # ---------------------------------------------------------------------- parameters
    def _params(self, county: str) -> CountyParams:
        r = rng_for(self.seed, "enc-params", county)
        spec = self.city.spec
        base = float(r.uniform(0.835, 0.895))
        if county == spec.urban_district:  # urban district with the city hospitals: highest in-county rate
            base = 0.90
        return CountyParams(
            in_rate_out=base,
            in_rate_inp=base - float(r.uniform(0.05, 0.10)),
            primary=float(r.uniform(0.57, 0.69)) - (0.06 if county == spec.urban_district else 0.0),
            down=float(r.uniform(0.7, 1.3)),
            fcc_null=0.12 if county == spec.fcc_null_county else 0.0,
        )

    def counties(self) -> list[str]:
        """Insured counties that get encounter files: the city's counties, then outside ones."""
        return list(self.city.counties) + list(self.city.spec.outside_insured)

    # ---------------------------------------------------------------------- people
    def pool(self, county: str) -> PeoplePool:
        if county in self._pools:
            return self._pools[county]
        r = rng_for(self.seed, "people", county)
        tw_idx = np.flatnonzero(self.tw_county == county)
        spec = self.city.spec
        if county in spec.county_residents:
            residents = self.city.townships.set_index("code").residents
            w = np.array([residents[self.tw_codes[i]] for i in tw_idx], float)
            n = max(50, int(round(spec.county_residents[county] * self.scale)))
            emp_p = 0.30 if county in spec.employee_counties else 0.15
        else:
            w = np.ones(len(tw_idx))
            n = max(20, int(round(8_000 * self.scale)))
            emp_p = 0.4
        township = tw_idx[r.choice(len(tw_idx), size=n, p=w / w.sum())]
        employee = r.random(n) < emp_p
        # distinct insurance numbers across the cities of a province (the first city: as always)
        order = 20 * spec.index + list(self.counties()).index(county)
        gidx = order * 10_000_000 + np.arange(n, dtype=np.int64)
        kind = r.random(n)
        area = np.full(n, int(county), np.int64)
        day = (np.arange(n) // 1000 * 7919 + 131 * order) % 29_000  # distinct (birthday, seq) per person
        birth = np.datetime64("1940-01-01") + day.astype("timedelta64[D]")
        bm = birth.astype("datetime64[M]")
        yyyymmdd = (
            (birth.astype("datetime64[Y]").astype(np.int64) + 1970) * 10000
            + (bm.astype(np.int64) % 12 + 1) * 100
            + (birth - bm).astype(np.int64)
            + 1
        )
        seq = np.arange(n) % 1000
        id18 = resident_ids(area, yyyymmdd, seq)
        id15 = old_resident_ids(area, yyyymmdd % 1_000_000, seq)
        code10 = digit_strings(gidx, 10)
        pid = pc.if_else(pa.array(kind < 0.72), id18, pc.if_else(pa.array(kind < 0.75), id15, code10))
        p = PeoplePool(county, n, township.astype(np.int64), employee, pid)
        self._pools[county] = p
        return p

    def monthly_count(self, county: str, m0: dt.date, rng: np.random.Generator) -> int:
        pool = self.pool(county)
        season = 1.0 + 0.12 * np.cos(2 * np.pi * (m0.month - 1) / 12)  # winter peak
        growth = 1.0 + 0.02 * (m0.year - 2020)
        return int(rng.poisson(pool.n * RATE_PER_PERSON_MONTH * season * growth))

    # ---------------------------------------------------------------------- encounters
    def month_chunks(self, county: str, ym: str, tally: np.ndarray | None = None) -> Iterator[pa.Table]:
        """Chunks of encounters of people insured in `county` settled in month `ym`.

        `tally` (len = number of townships) receives resident-scheme fund_paid cents by
        insured township.
        """
        m0 = month_start(ym)
        rng = rng_for(self.seed, "encounters", county, ym)
        n_total = self.monthly_count(county, m0, rng)
        done = 0
        while done < n_total:
            n = min(CHUNK, n_total - done)
            yield self._chunk(county, m0, n, done, rng, tally)
            done += n

    def _chunk(self, county, m0: dt.date, n, seq0, rng, tally) -> pa.Table:
        pool = self.pool(county)
        inside = county in self.city.counties
        lists = self.by_county[county] if inside else self.by_county["_outside"]
        prm = self.params.get(county)
        years = (m0.year - 2020) + (m0.month - 1) / 12.0

        person = (rng.random(n) ** 1.3 * pool.n).astype(np.int64)  # some people visit more often
        tw = pool.township[person]
        u = rng.random(n)
        etype = np.where(u < 0.03, 2, np.where(u < 0.08, 1, 0)).astype(np.int8)

        fac = np.empty(n, np.int64)
        if inside:
            p_in = np.where(etype == 2, prm.in_rate_inp, prm.in_rate_out) + 0.004 * years
            in_cty = rng.random(n) < p_in
        else:
            in_cty = np.zeros(n, bool)
        # ---- out of county: city hospitals elsewhere, other county hospitals, out of city
        out_rows = np.flatnonzero(~in_cty)
        if len(out_rows):
            v = rng.random(len(out_rows))
            dest = np.where(v < 0.5, 0, np.where(v < 0.7, 1, 2))
            if not inside:
                dest = np.where(v < 0.75, 0, np.where(v < 0.95, 1, 2))
            fac[out_rows] = self.outside_idx[_pick(rng, len(out_rows), len(self.outside_idx))]
            for d, key in ((0, "city_h_out"), (1, "other_county_h")):
                rows = out_rows[dest == d]
                lst = lists[key]
                if len(rows) and len(lst):
                    fac[rows] = lst[_pick(rng, len(rows), len(lst), skew=1.5)]
        # ---- in county
        in_rows = np.flatnonzero(in_cty)
        if len(in_rows):
            years_primary = prm.primary + 0.01 * years
            has_city = len(lists["city_h_in"]) > 0
            v = rng.random(len(in_rows))
            et = etype[in_rows]
            cat = np.full(len(in_rows), COUNTY, np.int8)
            prim = years_primary
            # outpatient: village / township / clinic / hospital
            o = et == 0
            cat[o & (v < prim * 0.5)] = VILLAGE
            cat[o & (v >= prim * 0.5) & (v < prim * 0.88)] = TOWNSHIP
            cat[o & (v >= prim * 0.88) & (v < prim)] = CLINIC
            cat[(et == 1) & (v < 0.25)] = TOWNSHIP
            cat[(et == 2) & (v < 0.25)] = TOWNSHIP
            if has_city:  # part of hospital care in county goes to the city hospitals located there
                w = rng.random(len(in_rows))
                cat[(cat == COUNTY) & (w < 0.45)] = CITY
            rows_tw = tw[in_rows]
            for c in (VILLAGE, TOWNSHIP, CLINIC, COUNTY, CITY):
                sel = np.flatnonzero(cat == c)
                if not len(sel):
                    continue
                rows = in_rows[sel]
                if c == VILLAGE:
                    t = rows_tw[sel]
                    fac[rows] = self.vill_list[
                        self.vill_start[t] + (rng.random(len(sel)) * self.vill_count[t]).astype(np.int64)
                    ]
                elif c == TOWNSHIP:
                    own = self.centre[rows_tw[sel]]
                    other = lists["centres"][_pick(rng, len(sel), len(lists["centres"]))]
                    fac[rows] = np.where(rng.random(len(sel)) < 0.85, own, other)
                elif c == CLINIC:
                    fac[rows] = lists["clinics"][_pick(rng, len(sel), len(lists["clinics"]))]
                elif c == COUNTY:
                    fac[rows] = lists["county_h"][_pick(rng, len(sel), len(lists["county_h"]), skew=1.8)]
                else:
                    fac[rows] = lists["city_h_in"][_pick(rng, len(sel), len(lists["city_h_in"]), skew=1.3)]
        fcat = self.fac_cat[fac]

        # ---- dates
        dim = (month_start(m0.isoformat()[:7], 1) - m0).days
        start = np.datetime64(m0.isoformat(), "D")
        day = (rng.random(n) * dim).astype(np.int64)
        settle = start + day.astype("timedelta64[D]")
        inp = etype == 2
        los = np.where(inp, 1 + np.minimum(rng.lognormal(np.log(np.where(fcat >= TOWNSHIP, 5, 8)), 0.6), 60), 0)
        los = los.astype(np.int64)
        visit = settle - los.astype("timedelta64[D]")

        # ---- scheme
        scheme = np.where(pool.employee[person], 1, 0).astype(np.int8)
        scheme[rng.random(n) < 0.05] = 2

        # ---- referral
        r = rng.random(n)
        hosp = (fcat == COUNTY) | (fcat == CITY) | (fcat == OUTSIDE)
        prim_f = (fcat == TOWNSHIP) | (fcat == VILLAGE)
        p_up = np.where(hosp, np.where(inp, 0.12, 0.02), 0.0)
        down_f = (prm.down if prm else 1.0) * 1.12**years
        p_down = np.where(prim_f, np.where(inp, 0.10, 0.015) * down_f, 0.0)
        referral = np.where(r < p_up, 1, np.where(r < p_up + p_down, 2, 0)).astype(np.int8)
        ref_arr = pc.take(pa.array(REFERRALS), pa.array(referral))
        if county == self.city.spec.empty_referral_county:  # leaves 转诊类型 empty for "none" (default = none)
            ref_arr = pc.if_else(pa.array(referral == 0), pa.scalar(None, pa.string()), ref_arr)

        # ---- money (cents)
        med = np.zeros(n)
        ratio = np.zeros(n)
        for t in (0, 1, 2):
            for c, val in MEDIAN_COST[t].items():
                sel = (etype == t) & (fcat == c)
                med[sel] = val
                ratio[sel] = FUND_RATIO[t][c]
        sigma = np.where(inp, 0.5, 0.6)
        total = np.round(med * rng.lognormal(0.0, sigma) * 100).astype(np.int64)
        ratio = np.minimum(ratio + np.where(scheme == 1, 0.12, 0.0), 0.95) * rng.uniform(0.9, 1.0, n)
        fund = np.floor(total * ratio).astype(np.int64)
        fund[scheme == 2] = 0

        if tally is not None and inside:
            res = scheme == 0
            tally += np.bincount(tw[res], weights=fund[res], minlength=len(tally))[: len(tally)]

        # ---- strings
        prefix = f"{county}{m0.year:04d}{m0.month:02d}"
        enc_id = digit_strings(np.arange(seq0, seq0 + n, dtype=np.int64), 8, prefix)
        fcc = pc.take(self.fac_county, pa.array(fac))
        if prm is not None and prm.fcc_null:
            fcc = pc.if_else(pa.array(rng.random(n) < prm.fcc_null), pa.scalar(None, pa.string()), fcc)
        diag_idx = rng.choice(len(DIAGNOSES), size=n, p=DIAG_P)
        diag = pc.take(pa.array(DIAGNOSES), pa.array(diag_idx))
        diag = pc.if_else(pa.array(rng.random(n) < 0.08), pa.scalar(None, pa.string()), diag)
        return pa.table(
            {
                "encounter_id": enc_id,
                "patient_id": pc.take(pool.patient_id, pa.array(person)),
                "insured_township_code": pc.take(self.tw_arrow, pa.array(tw)),
                "facility_id": pc.take(self.fac_id, pa.array(fac)),
                "facility_county_code": fcc,
                "encounter_type": pc.take(pa.array(list(TYPES)), pa.array(etype)),
                "visit_date": pa.array(visit, pa.date32()),
                "discharge_date": pa.array(np.where(inp, settle, np.datetime64("NaT")), pa.date32(), from_pandas=True),
                "referral": ref_arr,
                "scheme": pc.take(pa.array(SCHEMES), pa.array(scheme)),
                "total_cost": pa.array(total),
                "fund_paid": pa.array(fund),
                "diagnosis_code": diag,
            }
        )


def _pick(rng: np.random.Generator, n: int, k: int, skew: float = 1.0) -> np.ndarray:
    """n indices in [0, k); skew > 1 favours the first entries (bigger hospitals first)."""
    u = rng.random(n)
    if skew != 1.0:
        u = u**skew
    return np.minimum((u * k).astype(np.int64), k - 1)
