"""`medcom ingest` of a province (feeds.md "Codes", "A province"): one `province` row, several
cities; every "of the city" check holds for any city of the province; a second province or a
city outside it rejects the regions file with a plain reason and loads nothing."""

from __future__ import annotations

import io

import duckdb
import pytest
from ingest_helpers import REFERENCE, encounter, write_csv

from ingest.run import ingest_paths

PROVINCE = "410000"
CITY_A, CITY_B = "411000", "411100"  # 许昌市, 漯河市
COUNTY_A, COUNTY_B = "411025", "411102"  # 襄城县 (Xuchang), 源汇区 (Luohe)
TWP_A, TWP_B = "411025001", "411102001"

REGIONS = [
    {"region_code": PROVINCE, "name": "河南省", "level": "省", "parent_code": ""},
    {"region_code": CITY_A, "name": "许昌市", "level": "city", "parent_code": PROVINCE},
    {"region_code": CITY_B, "name": "漯河市", "level": "市", "parent_code": PROVINCE},
    {"region_code": COUNTY_A, "name": "襄城县", "level": "county", "parent_code": CITY_A},
    {"region_code": COUNTY_B, "name": "源汇区", "level": "county", "parent_code": CITY_B},
    {"region_code": TWP_A, "name": "城关镇", "level": "township", "parent_code": COUNTY_A},
    {"region_code": TWP_B, "name": "老街街道", "level": "township", "parent_code": COUNTY_B},
]


def _fac(fid, name, county, township, tier, parent=""):
    return {
        "facility_id": fid,
        "name": name,
        "county_code": county,
        "township_code": township,
        "tier": tier,
        "grade": "2A" if tier == "county" else "",
        "ownership": "public",
        "parent_facility_id": parent,
        "opened_on": "",
        "closed_on": "",
    }


FACILITIES = [
    _fac("HA", "襄城县人民医院", COUNTY_A, "", "county"),
    _fac("TA", "城关镇卫生院", COUNTY_A, TWP_A, "township", "HA"),
    _fac("HB", "源汇区人民医院", COUNTY_B, "", "county"),
    _fac("TB", "老街街道社区卫生服务中心", COUNTY_B, TWP_B, "township", "HB"),
]
COMMUNITIES = [
    {
        "community_id": "CA",
        "name": "襄城县医共体",
        "county_code": COUNTY_A,
        "lead_facility_id": "HA",
        "established_on": "2020-01-01",
    },
    {
        "community_id": "CB",
        "name": "源汇区医共体",
        "county_code": COUNTY_B,
        "lead_facility_id": "HB",
        "established_on": "2020-06-01",
    },
]
MEMBERSHIPS = [
    {"facility_id": "TA", "community_id": "CA", "valid_from": "2020-01-01", "valid_to": ""},
    {"facility_id": "TB", "community_id": "CB", "valid_from": "2020-06-01", "valid_to": ""},
]
CATCHMENTS = [
    {"township_code": TWP_A, "community_id": "CA", "valid_from": "2020-01-01", "valid_to": ""},
    {"township_code": TWP_B, "community_id": "CB", "valid_from": "2020-06-01", "valid_to": ""},
]
PROVINCE_REFERENCE = {
    "regions": REGIONS,
    "facilities": FACILITIES,
    "communities": COMMUNITIES,
    "memberships": MEMBERSHIPS,
    "catchments": CATCHMENTS,
}


def ingest(*paths):
    out = io.StringIO()
    res = ingest_paths(list(paths), out=out)
    return res, out.getvalue()


def q(home, sql):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        return c.execute(sql).fetchall()


def write_reference(inbox, reference, feeds=None):
    for feed, rows in reference.items():
        if feeds is None or feed in feeds:
            write_csv(inbox / feed / f"{feed}.csv", rows)


@pytest.fixture
def province(medcom_home, tmp_path):
    inbox = tmp_path / "ref"
    write_reference(inbox, PROVINCE_REFERENCE)
    res, out = ingest(inbox)
    assert res.ok, out
    return medcom_home


def test_province_registry_loads_both_cities(province):
    assert q(province, "SELECT region_code, level FROM raw.regions WHERE level IN ('province', 'city') ORDER BY 1") == [
        (PROVINCE, "province"),
        (CITY_A, "city"),
        (CITY_B, "city"),
    ]
    # facilities and communities of both cities passed "a county of the city"
    assert q(province, "SELECT count(*) FROM raw.facilities WHERE _superseded_by IS NULL") == [(4,)]
    assert q(province, "SELECT count(DISTINCT county_code) FROM raw.communities WHERE _superseded_by IS NULL") == [(2,)]


def test_activity_of_any_city_and_the_province_code(province, tmp_path):
    inbox = tmp_path / "act"
    rows = [
        # insured in Luohe, treated in Xuchang (care across city borders, inside the province)
        encounter(1, county_twp=TWP_B, facility_id="TA", facility_county_code=COUNTY_A),
        # insured in Xuchang, treated at a Luohe facility
        encounter(2, facility_id="HB", facility_county_code=COUNTY_B),
        # out-of-province care: unknown facility with a county code outside every city
        encounter(3, facility_id="H420102001", facility_county_code="420102"),
        # unknown facility that claims a county inside the *other* city → invalid
        encounter(4, facility_id="X1", facility_county_code="411103"),
        # registry facility of Luohe with Xuchang's county code → contradicts the registry
        encounter(5, facility_id="TB", facility_county_code=COUNTY_A),
    ] + [encounter(i, facility_id="TA") for i in range(6, 400)]
    write_csv(inbox / "encounters" / "encounters.csv", rows)
    write_csv(
        inbox / "complaints" / "complaints.csv",
        [
            {
                "complaint_id": "K1",
                "county_code": COUNTY_B,
                "facility_id": "TB",
                "received_date": "2021-01-05",
                "due_date": "2021-01-20",
                "closed_date": "",
            },
            {
                "complaint_id": "K2",
                "county_code": CITY_B,
                "facility_id": "",
                "received_date": "2021-01-05",
                "due_date": "2021-01-20",
                "closed_date": "",
            },
            {
                "complaint_id": "K3",
                "county_code": PROVINCE,
                "facility_id": "",
                "received_date": "2021-01-05",
                "due_date": "2021-01-20",
                "closed_date": "",
            },
            {
                "complaint_id": "K4",
                "county_code": "420100",
                "facility_id": "",
                "received_date": "2021-01-05",
                "due_date": "2021-01-20",
                "closed_date": "",
            },
        ]
        + [
            {
                "complaint_id": f"K{i}",
                "county_code": COUNTY_A,
                "facility_id": "",
                "received_date": "2021-01-05",
                "due_date": "2021-01-20",
                "closed_date": "",
            }
            for i in range(10, 200)
        ],
    )
    write_csv(
        inbox / "supervision_agencies" / "supervision_agencies.csv",
        [
            {"county_code": code, "year": "2021", "staff_total": "20", "professional_staff": "17"}
            for code in (PROVINCE, CITY_A, CITY_B, COUNTY_A, COUNTY_B)
        ],
    )
    write_csv(
        inbox / "reported_indicators" / "reported_indicators.csv",
        [
            {"region_code": code, "year": "2021", "indicator_code": "health_literacy", "value": "0.25"}
            for code in (PROVINCE, CITY_A, CITY_B, COUNTY_B)
        ],
    )
    write_csv(
        inbox / "population" / "population.csv",
        [{"township_code": t, "year": "2021", "residents": "1000", "insured_residents": "900"} for t in (TWP_A, TWP_B)],
    )
    res, out = ingest(inbox)
    verdicts = {o.display_name: (o.verdict, o.reasons) for o in res.outcomes}
    assert verdicts["supervision_agencies/supervision_agencies.csv"][0] == "accepted", out
    assert verdicts["reported_indicators/reported_indicators.csv"][0] == "accepted", out
    assert verdicts["population/population.csv"][0] == "accepted", out
    assert verdicts["complaints/complaints.csv"][0] == "accepted_with_quarantine", out
    assert verdicts["encounters/encounters.csv"][0] == "accepted_with_quarantine", out
    quar = dict(
        q(
            province,
            "SELECT b.feed || ':' || q.row_number, q.reason FROM audit.quarantine q "
            "JOIN audit.ingest_batches b USING (batch_id) ORDER BY 1",
        )
    )
    assert quar == {
        "complaints:4": "county_code: '420100' is not a county of the city or the city",
        "encounters:4": "facility_county_code is inside the city but the facility is not in the registry",
        "encounters:5": "facility_county_code contradicts the facility registry",
    }
    assert q(province, "SELECT count(*) FROM raw.encounters") == [(397,)]
    assert q(province, "SELECT DISTINCT left(_coverage_key, 6) FROM raw.encounters ORDER BY 1") == [
        (COUNTY_A,),
        (COUNTY_B,),
    ]


def _rejected_regions(home, tmp_path, rows, name):
    """Ingest `rows` as a new regions snapshot over the loaded province; it must be rejected
    whole and the province snapshot must stay current."""
    before = q(home, "SELECT region_code FROM raw.regions WHERE _superseded_by IS NULL ORDER BY 1")
    inbox = tmp_path / name
    write_csv(inbox / "regions" / "regions.csv", rows)
    res, out = ingest(inbox)
    (o,) = res.outcomes
    assert o.verdict == "rejected" and not res.ok, out
    assert o.reasons.startswith("registry file has invalid rows:"), o.reasons
    assert q(home, "SELECT region_code FROM raw.regions WHERE _superseded_by IS NULL ORDER BY 1") == before
    assert q(home, f"SELECT count(*) FROM raw.regions WHERE _batch_id = '{o.batch_id}'") == [(0,)]
    return o.reasons


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            [{"region_code": "420000", "name": "湖北省", "level": "province", "parent_code": ""}],
            "a second province: one warehouse holds at most one region of level province",
        ),
        (
            [{"region_code": "420100", "name": "武汉市", "level": "city", "parent_code": PROVINCE}],
            "region_code: city '420100' is outside the province",
        ),
        (
            [{"region_code": "411200", "name": "三门峡市", "level": "city", "parent_code": ""}],
            "parent_code: value is required",
        ),
        (
            [{"region_code": "411201", "name": "湖滨区", "level": "city", "parent_code": PROVINCE}],
            "region_code: '411201' is not a city code of a province (6 digits ending in 00)",
        ),
    ],
    ids=["second-province", "city-outside", "city-without-parent", "city-code-not-00"],
)
def test_bad_province_snapshot_rejected_nothing_loaded(province, tmp_path, extra, reason):
    reasons = _rejected_regions(province, tmp_path, REGIONS + extra, "bad")
    assert reason in reasons, reasons


def test_province_code_must_end_in_0000_and_have_a_city(province, tmp_path):
    rows = [{**REGIONS[0], "region_code": "410100"}] + [
        {**r, "parent_code": "410100"} if r["level"] in ("city", "市") else r for r in REGIONS[1:]
    ]
    reasons = _rejected_regions(province, tmp_path, rows, "p1")
    assert "region_code: '410100' is not a province code (6 digits ending in 0000)" in reasons
    reasons = _rejected_regions(province, tmp_path, REGIONS[:1], "p2")
    assert "the province has no city: at least one region of level city is required" in reasons


def test_one_city_without_province_still_needs_exactly_one_city(medcom_home, tmp_path):
    inbox = tmp_path / "two-cities"
    rows = [r for r in REFERENCE["regions"]] + [
        {"region_code": CITY_B, "name": "漯河市", "level": "city", "parent_code": ""}
    ]
    write_csv(inbox / "regions" / "regions.csv", rows)
    res, out = ingest(inbox)
    (o,) = res.outcomes
    assert o.verdict == "rejected"
    assert "exactly one region of level city is required" in o.reasons
    assert q(medcom_home, "SELECT count(*) FROM raw.regions") == [(0,)]
