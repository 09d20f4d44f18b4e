"""Real Xuchang county and township codes (packaged copies of ../shared/reference)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

CITY_CODE = "411000"
CITY_NAME = "许昌市"

# 411071 (许昌经济技术开发区) is a functional zone, not a county: left out of the
# synthetic city (its two streets are not generated either).
EXCLUDED_COUNTIES = {"411071"}

# Approximate residents (2020 census scale; 4.38M in total; 1,337,940 in the two districts).
COUNTY_RESIDENTS = {
    "411002": 500_000,
    "411003": 837_940,
    "411024": 560_000,
    "411025": 680_000,
    "411081": 1_110_000,
    "411082": 690_000,
}

# Codes outside the city used for out-of-city care and out-of-city insured people.
OUTSIDE_COUNTIES = {
    "410102": "郑州市中原区",
    "410105": "郑州市金水区",
    "411102": "漯河市源汇区",
    "410402": "平顶山市新华区",
    "110102": "北京市西城区",
}
# insured counties outside the city that get their own encounter files
OUTSIDE_INSURED = ["410102", "411102"]


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    county_code: str

    @property
    def is_street(self) -> bool:
        return self.name.endswith("街道") or self.name.endswith("区")


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("medcom.generate").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def counties() -> dict[str, str]:
    """{county_code: name} of the generated city (411071 left out)."""
    return {
        r["county_code"]: r["name"] for r in _read("xuchang-counties.csv") if r["county_code"] not in EXCLUDED_COUNTIES
    }


def townships() -> list[Township]:
    keep = counties()
    return [
        Township(r["township_code"], r["name"], r["county_code"])
        for r in _read("xuchang-townships.csv")
        if r["county_code"] in keep
    ]


# ---------------------------------------------------------------------------- a province
PROVINCE_CODE = "410000"
PROVINCE_NAME = "河南省"

# Out-of-province places for a province's out-of-province care and insured (real codes:
# 北京市西城区, 武汉市武昌区, 合肥市蜀山区 for hospitals; a pool of Hubei, Anhui, Shandong and
# Shaanxi counties for people insured elsewhere, two per city so encounter identities stay unique).
PROVINCE_OUTSIDE_FACILITIES = [
    ("H110102001", "110102"),
    ("H420106001", "420106"),
    ("H340104001", "340104"),
    ("X0000000001", None),
    ("X0000000002", None),
]
PROVINCE_OUTSIDE_INSURED = [
    "420102",
    "420103",
    "420104",
    "420105",
    "420106",
    "420107",
    "420111",
    "420112",
    "420113",
    "420114",
    "420115",
    "420116",
    "420117",
    "340102",
    "340103",
    "340104",
    "340111",
    "340121",
    "340122",
    "340123",
    "340124",
    "340181",
    "370102",
    "370103",
    "370104",
    "370105",
    "370112",
    "370113",
    "610102",
    "610103",
    "610104",
    "610111",
    "610112",
    "610113",
]

_PLACE_CHARS = list(
    "安宝北昌城大丹东凤福高古关官广和河红后湖华黄惠吉集建江金锦井九康老李良林刘龙庙南农平七桥青清仁三沙山上石"
    "双顺太桃天田铁王文吴五西仙小新兴杨阳义永玉园枣张赵中周朱"
)
_HOSPITAL_GRADES = [("中心医院", "3A"), ("人民医院", "3A"), ("中医院", "3A"), ("妇幼保健院", "3B")]


@dataclass(frozen=True)
class CitySpec:
    """Everything about one generated city that is not drawn at random per seed."""

    code: str
    name: str
    index: int  # position in the province (0 = the first city; its random streams are the single city's)
    counties: dict[str, str]
    townships: tuple[Township, ...]
    county_residents: dict[str, int]
    community_plan: dict[str, tuple[int, object]]  # county → (communities, established_on)
    moves: tuple[tuple[str, int, object], ...]  # (county, index of the community left, move date)
    explicit_village_membership: frozenset[str]
    city_hospitals: tuple[tuple[str, str, str], ...]  # (name, grade, county)
    four_hospital_counties: frozenset[str]  # counties with a second people's hospital
    urban_district: str | None  # centre district: smaller county hospitals, highest in-county rate
    employee_counties: frozenset[str]  # 30% employee scheme instead of 15%
    fcc_null_county: str | None  # leaves facility_county_code empty on 12% of rows
    empty_referral_county: str | None  # leaves 转诊类型 empty for "none"
    outside_insured: tuple[str, ...]
    outside_facilities: tuple[tuple[str, str | None], ...]
    province: tuple[str, str] | None = None  # (code, name) when the city is part of a province

    @property
    def short_name(self) -> str:
        return self.name.removesuffix("市")


def xuchang_spec(index: int = 0, province: bool = False) -> CitySpec:
    """许昌市 as the generator has always written it. In a province only its out-of-province
    places change (the single city's 'outside' codes are other Henan cities)."""
    import datetime as dt

    D = dt.date
    from medcom.generate.encounters import OUTSIDE_FACILITIES

    return CitySpec(
        code=CITY_CODE,
        name=CITY_NAME,
        index=index,
        counties=counties(),
        townships=tuple(townships()),
        county_residents=dict(COUNTY_RESIDENTS),
        community_plan={
            "411025": (2, D(2020, 1, 1)),
            "411081": (3, D(2020, 4, 1)),
            "411082": (2, D(2020, 6, 15)),
            "411024": (1, D(2020, 7, 1)),
            "411003": (2, D(2020, 9, 1)),
        },
        moves=(("411081", 0, D(2020, 10, 1)), ("411025", 0, D(2021, 7, 1))),
        explicit_village_membership=frozenset({"411081", "411082"}),
        city_hospitals=(
            ("许昌市中心医院", "3A", "411002"),
            ("许昌市人民医院", "3A", "411002"),
            ("许昌市中医院", "3A", "411002"),
            ("许昌市妇幼保健院", "3B", "411002"),
            ("许昌市第二人民医院", "3B", "411003"),
        ),
        four_hospital_counties=frozenset({"411081", "411003"}),
        urban_district="411002",
        employee_counties=frozenset({"411002", "411003"}),
        fcc_null_county="411024",
        empty_referral_county="411082",
        outside_insured=tuple(_province_outside_insured(index)) if province else tuple(OUTSIDE_INSURED),
        outside_facilities=tuple(PROVINCE_OUTSIDE_FACILITIES) if province else tuple(OUTSIDE_FACILITIES),
        province=(PROVINCE_CODE, PROVINCE_NAME) if province else None,
    )


def _province_outside_insured(index: int) -> list[str]:
    pool = PROVINCE_OUTSIDE_INSURED
    return [pool[(2 * index) % len(pool)], pool[(2 * index + 1) % len(pool)]]


def henan_cities() -> dict[str, tuple[str, dict[str, str]]]:
    """{city_code: (name, {county_code: name})} of Henan's other prefectures (real GB/T 2260
    codes), in the order a generated province adds them after 许昌市 (neighbours first)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for r in _read("henan-counties.csv"):
        out.setdefault(r["city_code"], (r["city_name"], {}))[1][r["county_code"]] = r["name"]
    return out


def max_cities() -> int:
    return 1 + len(henan_cities())


def _synthetic_townships(county: str, county_name: str) -> list[Township]:
    """Township codes and names for a county without a packaged township list: real code
    layout (county + 001… streets, 100… towns, 200… townships), invented names."""
    from medcom.generate.rng import rng_for

    r = rng_for(0, "henan-townships", county)
    district = county_name.endswith("区")
    n = int(r.integers(5, 10)) if district else int(r.integers(9, 16))
    n_street = n if district else 2
    n_town = 0 if district else (n - n_street + 1) // 2 + 1
    names: set[str] = set()
    out: list[Township] = []
    k_street = k_town = k_twp = 0
    for i in range(n):
        while True:
            stem = "".join(r.choice(_PLACE_CHARS, size=2, replace=False).tolist())
            if stem not in names:
                names.add(stem)
                break
        if i < n_street:
            k_street += 1
            code, name = f"{county}{k_street:03d}", f"{stem}街道"
        elif i < n_street + n_town:
            code, name = f"{county}{100 + k_town:03d}", f"{stem}镇"
            k_town += 1
        else:
            code, name = f"{county}{200 + k_twp:03d}", f"{stem}乡"
            k_twp += 1
        out.append(Township(code, name, county))
    return out


def _move_date(established):
    """When a township moves to the county's next community: October 2020, or six months after
    the county's communities were established when that is later (a township cannot leave a
    community before it exists: Zhengzhou's first multi-community county starts in April 2021)."""
    import datetime as dt

    if established < dt.date(2020, 10, 1):
        return dt.date(2020, 10, 1)
    m = established.month + 6
    return dt.date(established.year + (m - 1) // 12, (m - 1) % 12 + 1, 1)


def henan_spec(code: str, index: int) -> CitySpec:
    """A Henan prefecture of a generated province: real city and county codes; townships,
    population, communities and hospitals drawn once per city code (not per seed)."""
    import datetime as dt

    from medcom.generate.rng import rng_for

    D = dt.date
    name, cties = henan_cities()[code]
    r = rng_for(0, "henan-city", code)
    tws = [t for c, n in cties.items() for t in _synthetic_townships(c, n)]
    residents = {
        c: int(r.integers(300_000, 700_000) if n.endswith("区") else r.integers(500_000, 1_200_000))
        for c, n in cties.items()
    }
    codes = list(cties)
    centre = codes[0]
    districts = [c for c in codes if cties[c].endswith("区")] or [centre]
    # communities: every county but the centre district; establishment spread over 2020–2021,
    # the last county joining in July 2020 (a county that joins the plan mid-year)
    dates = [D(2020, 1, 1), D(2020, 3, 1), D(2020, 5, 1), D(2020, 9, 1), D(2021, 1, 1), D(2021, 4, 1)]
    plan: dict[str, tuple[int, object]] = {}
    others = [c for c in codes if c != centre]
    for k, c in enumerate(others):
        n_comm = 1 if cties[c].endswith("区") else int(r.integers(1, 4))
        est = D(2020, 7, 1) if k == len(others) - 1 else dates[min(k, len(dates) - 1)]
        plan[c] = (n_comm, est)
    multi = [c for c in others if plan[c][0] > 1]
    moves = ((multi[0], 0, _move_date(plan[multi[0]][1])),) if multi else ()
    big = sorted(others, key=lambda c: -residents[c])[:2]
    second = districts[1] if len(districts) > 1 else centre
    hospitals = tuple((f"{name}{suffix}", grade, centre) for suffix, grade in _HOSPITAL_GRADES) + (
        (f"{name}第二人民医院", "3B", second),
    )
    return CitySpec(
        code=code,
        name=name,
        index=index,
        counties=cties,
        townships=tuple(tws),
        county_residents=residents,
        community_plan=plan,
        moves=moves,
        explicit_village_membership=frozenset(others[:2]),
        city_hospitals=hospitals,
        four_hospital_counties=frozenset(big),
        urban_district=centre,
        employee_counties=frozenset(districts[:2]),
        fcc_null_county=None,
        empty_referral_county=None,
        outside_insured=tuple(_province_outside_insured(index)),
        outside_facilities=tuple(PROVINCE_OUTSIDE_FACILITIES),
        province=(PROVINCE_CODE, PROVINCE_NAME),
    )


def province_specs(n: int) -> list[CitySpec]:
    """The cities of a generated province of `n` prefectures: 许昌市 first, then Henan's other
    cities in `henan_cities()` order. n = 1 is the single city (no province)."""
    if n == 1:
        return [xuchang_spec()]
    others = list(henan_cities())[: n - 1]
    return [xuchang_spec(0, province=True)] + [henan_spec(c, i) for i, c in enumerate(others, 1)]
