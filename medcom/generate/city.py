"""The registry of the synthetic city: regions, facilities, communities, memberships, catchments.

Deterministic for (seed, scale). At scale >= 0.25 the registry has the reference size
(~3,500 facilities, ~2,500 village clinics); below that village clinics and private clinics
shrink (at least one village clinic per township) so small test runs stay small.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from medcom.generate import geography as geo
from medcom.generate.rng import rng_for

D = dt.date

# Xuchang's community plan, moves, explicit village memberships and city hospitals are in
# `geography.xuchang_spec()`; every other city of a province has its own `CitySpec`.

COUNTY_HOSPITALS = [  # suffix, grade;禹州市 and 建安区 get a second people's hospital
    ("人民医院", "3B"),
    ("中医院", "2A"),
    ("第二人民医院", "2A"),
    ("妇幼保健院", "2B"),
]

SURNAMES = list(
    "张王李刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
VILLAGE_SUFFIX = list("庄营寨楼岗桥店集屯湾洼沟村园铺湖")
STREET_STATION = ["东", "西", "南", "北", "中", "新华", "建设", "光明", "和平", "幸福", "文化", "胜利", "育才", "劳动"]


@dataclass
class City:
    seed: int
    scale: float
    regions: pd.DataFrame
    facilities: pd.DataFrame  # contract columns + internal `_township` (effective township)
    communities: pd.DataFrame
    memberships: pd.DataFrame
    catchments: pd.DataFrame
    townships: pd.DataFrame  # code, name, county_code, residents (base), street
    counties: dict[str, str] = field(default_factory=dict)
    spec: geo.CitySpec = field(default_factory=geo.xuchang_spec)

    @property
    def city_code(self) -> str:
        return self.spec.code

    @property
    def rng_key(self) -> tuple[str, ...]:
        """Extra key of the city's random streams: none for the first city (so the single
        city is what it always was), the city code for the others of a province."""
        return () if self.spec.index == 0 else (self.spec.code,)

    def community_of_township(self, day: D) -> dict[str, str]:
        """{township_code: community_id} as of `day` (catchments)."""
        c = self.catchments
        ok = (c.valid_from <= day) & (c.valid_to.isna() | (c.valid_to.apply(lambda v: v is None or v >= day)))
        return dict(zip(c.township_code[ok], c.community_id[ok], strict=True))


def village_factor(scale: float) -> float:
    return float(min(1.0, max(scale * 4.0, 0.04)))


def build_city(seed: int, scale: float, spec: geo.CitySpec | None = None) -> City:
    spec = spec or geo.xuchang_spec()
    rng = rng_for(seed, "city", *(() if spec.index == 0 else (spec.code,)))
    counties = dict(spec.counties)
    tws = list(spec.townships)
    vf = village_factor(scale)

    # -- townships and population ------------------------------------------------------
    rows = []
    for county, total in spec.county_residents.items():
        ts = [t for t in tws if t.county_code == county]
        w = rng.gamma(4.0, 1.0, len(ts)) * np.array([1.6 if t.is_street else 1.0 for t in ts])
        pop = np.round(total * w / w.sum()).astype(int)
        for t, p in zip(ts, pop, strict=True):
            rows.append(
                {"code": t.code, "name": t.name, "county_code": county, "residents": int(p), "street": t.is_street}
            )
    townships = pd.DataFrame(rows)

    # -- regions -----------------------------------------------------------------------
    parent = spec.province[0] if spec.province else None
    reg = [{"region_code": spec.code, "name": spec.name, "level": "city", "parent_code": parent}]
    reg += [{"region_code": c, "name": n, "level": "county", "parent_code": spec.code} for c, n in counties.items()]
    reg += [{"region_code": t.code, "name": t.name, "level": "township", "parent_code": t.county_code} for t in tws]
    regions = pd.DataFrame(reg)

    # -- facilities --------------------------------------------------------------------
    fac: list[dict] = []

    def add(fid, name, county, township, tier, grade, ownership, parent=None, opened=None, closed=None, eff=None):
        fac.append(
            {
                "facility_id": fid,
                "name": name,
                "county_code": county,
                "township_code": township,
                "tier": tier,
                "grade": grade,
                "ownership": ownership,
                "parent_facility_id": parent,
                "opened_on": opened,
                "closed_on": closed,
                "_township": eff or township,
            }
        )

    def opened(lo=1950, hi=2012):
        y = int(rng.integers(lo, hi + 1))
        return D(y, int(rng.integers(1, 13)), int(rng.integers(1, 29)))

    seat = {c: townships[(townships.county_code == c)].code.iloc[0] for c in counties}
    for i, (name, grade, county) in enumerate(spec.city_hospitals, 1):
        add(f"H{spec.code}{i:03d}", name, county, seat[county], "city", grade, "public", opened=opened(1950, 1990))
    ph_county = spec.city_hospitals[0][2]
    add(
        f"G{spec.code}001",
        f"{spec.name}疾病预防控制中心",
        ph_county,
        None,
        "public_health",
        None,
        "public",
        opened=opened(1955, 1985),
    )
    add(
        f"G{spec.code}002",
        f"{spec.name}卫生计生监督局",
        ph_county,
        None,
        "public_health",
        None,
        "public",
        opened=opened(2000, 2010),
    )
    add(
        f"G{spec.code}003",
        f"{spec.name}紧急医疗救援中心",
        ph_county,
        None,
        "public_health",
        None,
        "public",
        opened=opened(2000, 2012),
    )

    county_hosp: dict[str, list[str]] = {}
    for county, cname in counties.items():
        n_hosp = 4 if county in spec.four_hospital_counties else 3
        specs = [COUNTY_HOSPITALS[0], COUNTY_HOSPITALS[1]]
        if n_hosp == 4:
            specs.append(COUNTY_HOSPITALS[2])
        specs.append(COUNTY_HOSPITALS[3])
        ids = []
        for i, (suffix, grade) in enumerate(specs, 1):
            g = grade
            if county == spec.urban_district:  # urban district hospitals are smaller
                g = {"3B": "2A", "2A": "2B"}.get(grade, grade)
            fid = f"H{county}{i:03d}"
            add(fid, f"{cname}{suffix}", county, seat[county], "county", g, "public", opened=opened(1950, 1995))
            ids.append(fid)
        county_hosp[county] = ids
        add(
            f"G{county}001",
            f"{cname}疾病预防控制中心",
            county,
            None,
            "public_health",
            None,
            "public",
            opened=opened(1955, 1990),
        )
        add(
            f"G{county}002",
            f"{cname}卫生健康委员会卫生监督所",
            county,
            None,
            "public_health",
            None,
            "public",
            opened=opened(2000, 2012),
        )

    # township centres and village clinics
    centre_of: dict[str, str] = {}
    for t in townships.itertuples():
        cid = f"W{t.code}"
        centre_of[t.code] = cid
        cname = f"{counties[t.county_code]}{t.name}社区卫生服务中心" if t.street else f"{t.name}卫生院"
        add(
            cid,
            cname,
            t.county_code,
            t.code,
            "township",
            "1" if rng.random() < 0.6 else None,
            "public",
            opened=opened(1958, 2010),
        )
    for t in townships.itertuples():
        base = 12 if t.street else 31
        n_v = max(1, int(round(base * vf * rng.uniform(0.75, 1.25))))
        used: set[str] = set()
        for j in range(1, n_v + 1):
            if t.street:
                stem = STREET_STATION[(j - 1) % len(STREET_STATION)] + ("" if j <= len(STREET_STATION) else str(j))
                vname = f"{t.name}{stem}社区卫生服务站"
            else:
                while True:
                    stem = str(rng.choice(SURNAMES)) + str(rng.choice(VILLAGE_SUFFIX))
                    if stem not in used:
                        used.add(stem)
                        break
                vname = f"{t.name}{stem}村卫生室"
            keep_tw = rng.random() < 0.3  # township_code often empty: inherited from the parent
            add(
                f"V{t.code}{j:03d}",
                vname,
                t.county_code,
                t.code if keep_tw else None,
                "village",
                None,
                "public" if rng.random() < 0.85 else "private",
                parent=centre_of[t.code],
                opened=opened(1970, 2015),
                eff=t.code,
            )

    # private clinics
    for county in counties:
        ts = townships[townships.county_code == county]
        n_c = max(2, int(round((160 if county in spec.employee_counties else 120) * vf)))
        probs = ts.residents.to_numpy() / ts.residents.sum()
        for j in range(1, n_c + 1):
            tw = str(rng.choice(ts.code.to_numpy(), p=probs))
            sur = str(rng.choice(SURNAMES))
            kind = "门诊部" if rng.random() < 0.25 else "诊所"
            nm = f"{counties[county]}{sur}{'氏' if kind == '诊所' else '济'}{['中医', '口腔', '内科', '综合'][j % 4]}{kind}"
            add(f"Z{county}{j:04d}", nm, county, tw, "clinic", None, "private", opened=opened(1995, 2019))
    facilities = pd.DataFrame(fac)
    # a few private clinics close during 2021 (registry history realism; they get no activity)
    clinic_idx = facilities.index[facilities.tier == "clinic"].to_numpy()
    closing = rng.choice(clinic_idx, size=min(3, len(clinic_idx)), replace=False)
    for k, i in enumerate(sorted(closing)):
        facilities.at[i, "closed_on"] = D(2021, 3 + 3 * k, 30)
    # facility names are unique for readability
    facilities["name"] = _dedupe(facilities["name"].tolist())

    # -- communities, memberships, catchments ------------------------------------------
    comm_rows, mem_rows, cat_rows = [], [], []
    move_dates = {c: (i, d) for c, i, d in spec.moves}
    plan = spec.community_plan
    for county in sorted(plan, key=lambda c: plan[c][1]):
        n_comm, est = plan[county]
        hosp = county_hosp[county]
        leads = hosp[:n_comm]
        cname = counties[county]
        ids = []
        for k in range(n_comm):
            cid = f"YGT{county}{k + 1:02d}"
            ids.append(cid)
            lead_name = facilities.loc[facilities.facility_id == leads[k], "name"].iloc[0]
            comm_rows.append(
                {
                    "community_id": cid,
                    "name": f"{cname}{lead_name.removeprefix(cname)}医共体",
                    "county_code": county,
                    "lead_facility_id": leads[k],
                    "established_on": est,
                }
            )
            mem_rows.append({"facility_id": leads[k], "community_id": cid, "valid_from": est, "valid_to": None})
        for fid in hosp[n_comm:]:  # other county hospitals join the first community
            mem_rows.append({"facility_id": fid, "community_id": ids[0], "valid_from": est, "valid_to": None})
        ts = townships[townships.county_code == county].code.tolist()
        # contiguous blocks of townships per community
        cuts = np.array_split(np.arange(len(ts)), n_comm)
        assign = {ts[i]: ids[k] for k, block in enumerate(cuts) for i in block}
        mover = None
        if county in move_dates and n_comm > 1:
            k_from, mdate = move_dates[county]
            mover = ts[cuts[k_from][-1]]  # last township of the block moves to the next community
            k_to = k_from + 1
        for tw in ts:
            vill = facilities.facility_id[(facilities.tier == "village") & (facilities._township == tw)].tolist()
            members = [centre_of[tw]] + (vill if county in spec.explicit_village_membership else [])
            if tw == mover:
                for fid in members:
                    mem_rows.append(
                        {
                            "facility_id": fid,
                            "community_id": assign[tw],
                            "valid_from": est,
                            "valid_to": mdate - dt.timedelta(days=1),
                        }
                    )
                    mem_rows.append(
                        {"facility_id": fid, "community_id": ids[k_to], "valid_from": mdate, "valid_to": None}
                    )
                cat_rows.append(
                    {
                        "township_code": tw,
                        "community_id": assign[tw],
                        "valid_from": est,
                        "valid_to": mdate - dt.timedelta(days=1),
                    }
                )
                cat_rows.append({"township_code": tw, "community_id": ids[k_to], "valid_from": mdate, "valid_to": None})
            else:
                for fid in members:
                    mem_rows.append(
                        {"facility_id": fid, "community_id": assign[tw], "valid_from": est, "valid_to": None}
                    )
                cat_rows.append({"township_code": tw, "community_id": assign[tw], "valid_from": est, "valid_to": None})
    communities = pd.DataFrame(comm_rows).sort_values("community_id", ignore_index=True)
    memberships = pd.DataFrame(mem_rows)
    catchments = pd.DataFrame(cat_rows)
    return City(seed, scale, regions, facilities, communities, memberships, catchments, townships, counties, spec)


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n[:-2]}{k + 1}{n[-2:]}" if len(n) > 2 else f"{n}{k + 1}")
    return out
