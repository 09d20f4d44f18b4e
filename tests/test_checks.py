"""Normalisation and row checks on in-memory DuckDB (no warehouse, no files)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from ingest_helpers import COUNTY_A, RESIDENT_IDS, TWP_A, check_rows, encounter, ref_connection, typed_rows

from ingest.checks import DUPLICATE_REASON, compile_checks
from ingest.pseudonymise import hmac_hex, pseudonymise_value
from medcom.contract import load_contract


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setenv("MEDCOM_SECRET", "unit-secret")
    c = ref_connection()
    yield c
    c.close()


def _one(con, feed, col, values):
    base = {"encounters": encounter(1)}[feed] if feed == "encounters" else {}
    rows = [{**base, col: v} for v in values]
    typed_rows(con, feed, rows)
    return [r[0] for r in con.execute(f'SELECT "{col}" FROM typed ORDER BY _row_number').fetchall()]


def test_dates_all_forms(con):
    got = _one(
        con,
        "encounters",
        "visit_date",
        [
            "2021-03-05",
            "2021/3/5",
            "20210305",
            "44260",
            "44260.0",
            "2021-03-05 00:00:00",
            "2021-02-30",
            "05/03/2021",
            "abc",
        ],
    )
    d = dt.date(2021, 3, 5)
    assert got == [d, d, d, d, d, d, None, None, None]


def test_months_years_ints_money_numbers_bools():
    c = duckdb.connect()
    typed_rows(
        c,
        "phs_services",
        [
            {"facility_id": "T1", "month": m, "service_code": "预防接种", "units": u}
            for m, u in [("2021-03", "5"), ("202103", "5.0"), ("2021-03-01", "-1"), ("2021-13", "1.5"), ("21-03", "x")]
        ],
    )
    rows = c.execute("SELECT month, units, service_code FROM typed ORDER BY _row_number").fetchall()
    m = dt.date(2021, 3, 1)
    assert [r[0] for r in rows] == [m, m, m, None, None]
    assert [r[1] for r in rows] == [5, 5, -1, None, None]
    assert {r[2] for r in rows} == {"immunization"}
    typed_rows(
        c,
        "phs_funds",
        [
            {"facility_id": "T1", "month": "2021-03", "amount": a}
            for a in ["12", "12.5", "12.50", "12.500", "12.345", "1,000", "-3.1"]
        ],
    )
    amounts = [r[0] for r in c.execute("SELECT amount FROM typed ORDER BY _row_number").fetchall()]
    assert [None if a is None else float(a) for a in amounts] == [12, 12.5, 12.5, 12.5, None, None, -3.1]
    flags = ["true", "FALSE", "1", "0", "是", "否", "Y", "n", "maybe"]
    typed_rows(c, "workforce", [{"facility_e_registered": f} for f in flags])
    assert [r[0] for r in c.execute("SELECT facility_e_registered FROM typed ORDER BY _row_number").fetchall()] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        None,
    ]


def test_enum_labels_and_defaults(con):
    typed_rows(
        con,
        "encounters",
        [
            encounter(1, encounter_type="住院", scheme="自费", referral=""),
            encounter(2, encounter_type="Emergency", scheme="职工", referral="上转"),
            encounter(3, encounter_type="门急诊", scheme="x", referral="down"),
        ],
    )
    rows = con.execute("SELECT encounter_type, scheme, referral FROM typed ORDER BY _row_number").fetchall()
    assert rows == [("inpatient", "self_pay", "none"), ("emergency", "employee", "up"), (None, None, "down")]


def test_pseudonymise_only_resident_ids(con):
    key = b"unit-secret"
    assert pseudonymise_value(" 41102519800101123x ", key) == hmac_hex("41102519800101123X", key)
    assert pseudonymise_value("411025800101123", key) == hmac_hex("411025800101123", key)
    assert pseudonymise_value("P00001", key) == "P00001"
    assert pseudonymise_value("4110251980010112", key) == "4110251980010112"  # 16 digits: not an ID
    reasons = check_rows(
        con,
        "encounters",
        [encounter(i, patient_id=p) for i, p in enumerate([RESIDENT_IDS[0].lower(), RESIDENT_IDS[2], "P1"], 1)],
    )
    assert set(reasons.values()) == {None}
    got = [r[0] for r in con.execute("SELECT patient_id FROM typed ORDER BY _row_number").fetchall()]
    srcs = [r[0] for r in con.execute("SELECT patient_id__src FROM typed ORDER BY _row_number").fetchall()]
    assert got == [hmac_hex(RESIDENT_IDS[0], key), hmac_hex(RESIDENT_IDS[2], key), "P1"]
    assert srcs == got  # the original text column never holds the raw ID either


def test_sql_hmac_is_the_python_hmac(con):
    """DuckDB's sha256-based HMAC (the ingest path) gives the digests of Python's hmac, also for
    a key longer than SHA-256's block (hashed first, RFC 2104) and for 15-digit IDs."""
    from ingest.pseudonymise import key_table, pseudonymise_sql

    values = [RESIDENT_IDS[0].lower(), f" {RESIDENT_IDS[2]} ", "411025800101123", "P1", " ", None]
    con.execute("CREATE OR REPLACE TABLE hm (v VARCHAR)")
    con.executemany("INSERT INTO hm VALUES (?)", [[v] for v in values])
    for key in (b"unit-secret", b"k" * 100):
        key_table(con, key)
        got = [r[0] for r in con.execute(f"SELECT {pseudonymise_sql('v')} FROM hm").fetchall()]
        assert got == [pseudonymise_value(v, key) if v and v.strip() else None for v in values]
        assert got[0] == hmac_hex(RESIDENT_IDS[0].upper(), key)


ENCOUNTER_CASES = [
    ({"encounter_id": ""}, "encounter_id: value is required"),
    ({"visit_date": "2021-02-30"}, "visit_date: '2021-02-30' is not a valid date"),
    ({"total_cost": "12.345"}, "total_cost: '12.345' is not a valid amount"),
    ({"encounter_type": "门急诊"}, "encounter_type: '门急诊' is not an allowed code"),
    ({"insured_township_code": "41102500"}, "insured_township_code: '41102500' does not have the expected format"),
    ({"diagnosis_code": "j06"}, "diagnosis_code: 'j06' does not have the expected format"),
    ({"total_cost": "-1", "fund_paid": "0"}, "total_cost: must be ≥ 0"),
    ({"visit_date": "2014-12-31"}, "visit_date: date is before 2015-01-01"),
    ({"visit_date": "2026-11-30"}, "visit_date: date is after the day of ingest"),
    ({"encounter_type": "住院"}, "inpatient encounter needs a discharge_date"),
    (
        {"encounter_type": "住院", "visit_date": "2021-01-10", "discharge_date": "2021-01-09"},
        "discharge_date is before visit_date",
    ),
    ({"discharge_date": "2021-01-20"}, "only inpatient encounters have a discharge_date"),
    ({"total_cost": "10", "fund_paid": "10.01"}, "fund_paid is larger than total_cost"),
    ({"scheme": "自费", "fund_paid": "1"}, "self-pay encounter with fund_paid > 0"),
    ({"facility_id": "T1", "facility_county_code": "411002"}, "facility_county_code contradicts the facility registry"),
    (
        {"facility_id": "X9", "facility_county_code": "411081"},
        "facility_county_code is inside the city but the facility is not in the registry",
    ),
]


@pytest.mark.parametrize("over,reason", ENCOUNTER_CASES, ids=[r for _, r in ENCOUNTER_CASES])
def test_encounter_reasons(con, over, reason):
    got = check_rows(con, "encounters", [encounter(1), encounter(2, **over)])
    assert got == {1: None, 2: reason}


def test_encounter_outside_city_is_fine(con):
    rows = [
        encounter(1, facility_id="ZZ1", facility_county_code="410102", insured_township_code="410102001"),
        encounter(2, facility_id="ZZ2", facility_county_code=""),
    ]
    assert set(check_rows(con, "encounters", rows).values()) == {None}


def test_first_failing_check_wins_and_duplicates_last(con):
    rows = [encounter(1), encounter(1), encounter(2, visit_date="bad", total_cost="x"), encounter(3), encounter(3)]
    got = check_rows(con, "encounters", rows)
    assert got == {
        1: None,
        2: DUPLICATE_REASON,
        3: "visit_date: 'bad' is not a valid date",
        4: None,
        5: DUPLICATE_REASON,
    }


def test_invalid_row_does_not_claim_identity(con):
    got = check_rows(con, "encounters", [encounter(1, total_cost="x"), encounter(1)])
    assert got == {1: "total_cost: 'x' is not a valid amount", 2: None}


def test_activity_cross_feed_refs(con):
    got = check_rows(
        con,
        "phs_services",
        [
            {"facility_id": "T1", "month": "2021-01", "service_code": "immunization", "units": "3"},
            {"facility_id": "NOPE", "month": "2021-01", "service_code": "immunization", "units": "3"},
            {"facility_id": "T1", "month": "2021-01", "service_code": "flu", "units": "3"},
        ],
    )
    assert got == {
        1: None,
        2: "facility_id: 'NOPE' is not in the facility registry",
        3: "service_code: 'flu' is not an allowed code",
    }
    got = check_rows(
        con,
        "population",
        [
            {"township_code": TWP_A, "year": "2021", "residents": "100", "insured_residents": "120"},
            {"township_code": TWP_A, "year": "2022", "residents": "100", "insured_residents": "121"},
            {"township_code": "411081001", "year": "2021", "residents": "1", "insured_residents": "1"},
        ],
    )
    assert got == {
        1: None,
        2: "insured_residents is larger than residents × 1.2",
        3: "township_code: '411081001' is not a township of the city",
    }
    got = check_rows(
        con,
        "complaints",
        [
            {"complaint_id": "1", "county_code": "411000", "received_date": "2021-01-05", "due_date": "2021-01-20"},
            {"complaint_id": "2", "county_code": "411081", "received_date": "2021-01-05", "due_date": "2021-01-20"},
            {"complaint_id": "3", "county_code": COUNTY_A, "received_date": "2021-01-05", "due_date": "2021-01-01"},
            {
                "complaint_id": "4",
                "county_code": COUNTY_A,
                "facility_id": "Q",
                "received_date": "2021-01-05",
                "due_date": "2021-01-20",
            },
        ],
    )
    assert got == {
        1: None,
        2: "county_code: '411081' is not a county of the city or the city",
        3: "due_date is before received_date",
        4: "facility_id: 'Q' is not in the facility registry",
    }


def test_budget_balances_within_one_yuan(con):
    def b(budget, year):
        return {
            "community_id": "C1",
            "year": year,
            "insured_residents": "1000",
            "pooled_fund": "1000",
            "risk_reserve": "100",
            "quality_reserve": "50",
            "critical_illness": "50",
            "budget": budget,
        }

    got = check_rows(con, "fund_budgets", [b("800", "2021"), b("801", "2022"), b("798.99", "2023")])
    assert got[1] is None and got[2] is None
    assert got[3].startswith("budget does not equal pooled_fund")


def test_inspection_rules(con):
    base = {"inspection_id": "I1", "facility_id": "T1", "kind": "双随机", "planned_month": "2021-01"}
    got = check_rows(
        con,
        "inspections",
        [
            {**base, "inspection_id": "I1"},
            {
                **base,
                "inspection_id": "I2",
                "completed_date": "2021-01-20",
                "result": "合格",
                "published": "是",
                "full_record": "否",
            },
            {**base, "inspection_id": "I3", "completed_date": "2021-01-20", "published": "是", "full_record": "否"},
            {**base, "inspection_id": "I4", "result": "violation"},
            {**base, "inspection_id": "I5", "completed_date": "2021-01-20", "result": "合格", "full_record": "否"},
        ],
    )
    assert got == {
        1: None,
        2: None,
        3: "result is required when completed_date is set",
        4: "result must be empty when completed_date is empty",
        5: "published: value is required when completed_date is set",
    }
    assert con.execute("SELECT published, full_record FROM typed WHERE inspection_id = 'I1'").fetchone() == (
        False,
        False,
    )


def test_reference_rules(con):
    got = check_rows(
        con,
        "facilities",
        [
            {"facility_id": "A", "name": "a", "county_code": COUNTY_A, "tier": "county", "ownership": "public"},
            {"facility_id": "A", "name": "b", "county_code": COUNTY_A, "tier": "county", "ownership": "public"},
            {"facility_id": "B", "name": "b", "county_code": "411081", "tier": "county", "ownership": "public"},
            {
                "facility_id": "C",
                "name": "c",
                "county_code": COUNTY_A,
                "township_code": "411002001",
                "tier": "village",
                "ownership": "public",
            },
            {
                "facility_id": "D",
                "name": "d",
                "county_code": COUNTY_A,
                "tier": "village",
                "ownership": "public",
                "parent_facility_id": "ZZ",
            },
            {
                "facility_id": "E",
                "name": "e",
                "county_code": COUNTY_A,
                "tier": "village",
                "ownership": "public",
                "opened_on": "2020-01-02",
                "closed_on": "2020-01-01",
            },
        ],
    )
    assert got == {
        1: "facility_id: value is not unique in the file",
        2: "facility_id: value is not unique in the file",
        3: "county_code: '411081' is not a county of the city",
        4: "township_code: '411002001' is not a township of the facility's county",
        5: "parent_facility_id: 'ZZ' is not in the facility registry",
        6: "closed_on is before opened_on",
    }
    got = check_rows(
        con,
        "memberships",
        [
            {"facility_id": "T1", "community_id": "C1", "valid_from": "2020-01-01", "valid_to": "2020-12-31"},
            {"facility_id": "T1", "community_id": "C1", "valid_from": "2020-12-31", "valid_to": ""},
            {"facility_id": "V1", "community_id": "C1", "valid_from": "2020-01-01", "valid_to": "2020-12-31"},
            {"facility_id": "V1", "community_id": "C1", "valid_from": "2021-01-01", "valid_to": ""},
            {"facility_id": "H2", "community_id": "C1", "valid_from": "2020-01-01", "valid_to": ""},
            {"facility_id": "H1", "community_id": "C9", "valid_from": "2020-01-01", "valid_to": ""},
            {"facility_id": "H1", "community_id": "C1", "valid_from": "2020-01-01", "valid_to": "2019-01-01"},
        ],
    )
    overlap = "overlapping validity with another row for the same facility"
    assert got == {
        1: overlap,
        2: overlap,
        3: None,
        4: None,
        5: "the facility is not in the community's county",
        6: "community_id: 'C9' is not in the community registry",
        7: "valid_to is before valid_from",
    }
    got = check_rows(
        con,
        "regions",
        [
            {"region_code": "411000", "name": "c", "level": "city", "parent_code": ""},
            {"region_code": "411025", "name": "k", "level": "county", "parent_code": "411000"},
            {"region_code": "411025001", "name": "t", "level": "county", "parent_code": "411025"},
            {"region_code": "412025", "name": "k2", "level": "county", "parent_code": "411000"},
            {"region_code": "411002001", "name": "t2", "level": "township", "parent_code": "411002"},
        ],
    )
    assert got[1] is None and got[2] is None
    assert got[3].startswith("level does not match")
    assert got[4] == "region_code: '412025' is not inside its parent region"
    assert got[5] == "parent_code: '411002' is not in the regions file"


def test_targets_and_reported_indicators(con):
    got = check_rows(
        con,
        "targets",
        [
            {"kpi_code": "in_county_visit_rate", "year_from": "2021", "target": "0.9"},
            {
                "kpi_code": "in_county_visit_rate",
                "org_level": "county",
                "org_id": COUNTY_A,
                "year_from": "2021",
                "target": "0.9",
            },
            {
                "kpi_code": "in_county_visit_rate",
                "org_level": "county",
                "org_id": COUNTY_A,
                "year_from": "2020",
                "year_to": "2022",
                "target": "0.8",
            },
            {"kpi_code": "no_such_kpi", "year_from": "2021", "target": "1"},
            {"kpi_code": "upward_referrals", "year_from": "2021", "target": "1"},
            {"kpi_code": "primary_care_visit_share", "org_id": COUNTY_A, "year_from": "2021", "target": "1"},
        ],
    )
    overlap = "overlapping years with another row for the same KPI and scope"
    assert got == {
        1: None,
        2: overlap,
        3: overlap,
        4: "kpi_code: 'no_such_kpi' is not a KPI of the catalogue",
        5: "kpi_code: 'upward_referrals' has direction none (informational) and cannot have a target",
        6: "org_id is given but org_level is empty",
    }
    got = check_rows(
        con,
        "reported_indicators",
        [
            {"region_code": "411000", "year": "2021", "indicator_code": "health_literacy", "value": "0.25"},
            {"region_code": COUNTY_A, "year": "2021", "indicator_code": "health_literacy", "value": "25"},
            {"region_code": COUNTY_A, "year": "2021", "indicator_code": "infant_mortality", "value": "4.1"},
            {"region_code": COUNTY_A, "year": "2021", "indicator_code": "in_county_visit_rate", "value": "0.5"},
        ],
    )
    assert got[1] is None and got[3] is None
    assert got[2] == "value: a fraction (% indicator) cannot be larger than 1"
    assert got[4] == "indicator_code: 'in_county_visit_rate' is not a family-E indicator of the KPI catalogue"


def test_every_contract_rule_compiles():
    for feed in load_contract().feeds:
        ids = [c.id for c in compile_checks(feed)]
        assert len(ids) == len(set(ids)), feed
        for rule in load_contract().feeds[feed].rules:
            assert any(i.startswith(f"{feed}.{rule}") for i in ids), (feed, rule)


def test_shape_error_is_first(con):
    from ingest_helpers import source_table

    from ingest.checks import evaluate
    from ingest.crossfeed import enrich
    from ingest.normalize import build_typed

    source_table(
        con,
        "encounters",
        [encounter(1, visit_date="x"), encounter(2)],
        shape_errors={1: "row has 14 fields, header has 13"},
    )
    build_typed(con, "encounters")
    enrich(con, "encounters")
    evaluate(con, compile_checks("encounters"))
    assert con.execute(
        "SELECT r.reason FROM typed LEFT JOIN reasons r USING (_row_number) ORDER BY 1 NULLS LAST"
    ).fetchall() == [
        ("row has 14 fields, header has 13",),
        (None,),
    ]
    _ = TWP_A
