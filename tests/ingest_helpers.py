"""Small helpers for the ingest tests: a tiny city as CSV files, and in-memory check runs."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from medcom.contract import load_contract
from medcom.contract.export import create_raw_tables

CITY = "411000"
COUNTY_A, COUNTY_B = "411025", "411002"
TWP_A, TWP_B = "411025001", "411002001"

REGIONS = [
    {"region_code": CITY, "name": "许昌市", "level": "市", "parent_code": ""},
    {"region_code": COUNTY_A, "name": "襄城县", "level": "county", "parent_code": CITY},
    {"region_code": COUNTY_B, "name": "魏都区", "level": "county", "parent_code": CITY},
    {"region_code": TWP_A, "name": "城关镇", "level": "township", "parent_code": COUNTY_A},
    {"region_code": TWP_B, "name": "西大街", "level": "乡", "parent_code": COUNTY_B},
]
FACILITIES = [
    {
        "facility_id": "H1",
        "name": "襄城县人民医院",
        "county_code": COUNTY_A,
        "township_code": "",
        "tier": "县级医院",
        "grade": "二级甲等",
        "ownership": "公立",
        "parent_facility_id": "",
        "opened_on": "2001-01-01",
        "closed_on": "",
    },
    {
        "facility_id": "T1",
        "name": "城关镇卫生院",
        "county_code": COUNTY_A,
        "township_code": TWP_A,
        "tier": "township",
        "grade": "",
        "ownership": "public",
        "parent_facility_id": "H1",
        "opened_on": "",
        "closed_on": "",
    },
    {
        "facility_id": "V1",
        "name": "村卫生室",
        "county_code": COUNTY_A,
        "township_code": TWP_A,
        "tier": "village",
        "grade": "none",
        "ownership": "private",
        "parent_facility_id": "T1",
        "opened_on": "",
        "closed_on": "",
    },
    {
        "facility_id": "H2",
        "name": "魏都区医院",
        "county_code": COUNTY_B,
        "township_code": "",
        "tier": "county",
        "grade": "3B",
        "ownership": "public",
        "parent_facility_id": "",
        "opened_on": "",
        "closed_on": "",
    },
]
COMMUNITIES = [
    {
        "community_id": "C1",
        "name": "襄城县医共体",
        "county_code": COUNTY_A,
        "lead_facility_id": "H1",
        "established_on": "2020-01-01",
    },
    {
        "community_id": "C2",
        "name": "魏都区医共体",
        "county_code": COUNTY_B,
        "lead_facility_id": "H2",
        "established_on": "2020-06-01",
    },
]
MEMBERSHIPS = [
    {"facility_id": "H1", "community_id": "C1", "valid_from": "2020-01-01", "valid_to": ""},
    {"facility_id": "T1", "community_id": "C1", "valid_from": "2020-01-01", "valid_to": ""},
    {"facility_id": "H2", "community_id": "C2", "valid_from": "2020-06-01", "valid_to": ""},
]
CATCHMENTS = [
    {"township_code": TWP_A, "community_id": "C1", "valid_from": "2020-01-01", "valid_to": ""},
    {"township_code": TWP_B, "community_id": "C2", "valid_from": "2020-06-01", "valid_to": ""},
]
REFERENCE = {
    "regions": REGIONS,
    "facilities": FACILITIES,
    "communities": COMMUNITIES,
    "memberships": MEMBERSHIPS,
    "catchments": CATCHMENTS,
}

RESIDENT_IDS = ["41102519800101123X", "411025198001011234", "411025800101123"]


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or list(rows[0])
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def write_reference(inbox: Path, feeds=None) -> None:
    for feed, rows in REFERENCE.items():
        if feeds is None or feed in feeds:
            write_csv(inbox / feed / f"{feed}.csv", rows)


def encounter(i: int, *, month: str = "2021-01", county_twp: str = TWP_A, **over) -> dict:
    """A valid outpatient encounter of the county of `county_twp`, in `month`."""
    r = {
        "encounter_id": f"E{month.replace('-', '')}{i:06d}",
        "patient_id": RESIDENT_IDS[i % 3] if i % 2 == 0 else f"P{i:05d}",
        "insured_township_code": county_twp,
        "facility_id": "T1" if i % 3 else "H1",
        "facility_county_code": COUNTY_A if i % 5 == 0 else "",
        "encounter_type": "门诊" if i % 2 else "outpatient",
        "visit_date": f"{month}-{(i % 27) + 1:02d}",
        "discharge_date": "",
        "referral": "",
        "scheme": "城乡居民",
        "total_cost": f"{100 + i % 50}.50",
        "fund_paid": "50",
        "diagnosis_code": "J06.9" if i % 4 else "",
    }
    r.update(over)
    return r


def encounters(n: int, **kw) -> list[dict]:
    return [encounter(i, **kw) for i in range(1, n + 1)]


# ------------------------------------------------------------------ in-memory check runs
def ref_connection() -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with catalog `wh` holding the tiny city's reference snapshot (typed)."""
    from ingest.checks import compile_checks, evaluate  # noqa: F401
    from ingest.crossfeed import copy_refs
    from ingest.normalize import build_typed

    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS wh")
    create_raw_tables(con, "wh.raw")
    for feed in ("regions", "facilities", "communities"):
        typed_rows(con, feed, REFERENCE[feed], build=build_typed)
        cols = ", ".join(f'"{c}"' for c in load_contract().feeds[feed].columns)
        con.execute(f"INSERT INTO wh.raw.{feed} ({cols}) SELECT {cols} FROM typed")
    copy_refs(con, "wh", "memory")
    return con


def source_table(con, feed: str, rows: list[dict], shape_errors: dict[int, str] | None = None) -> None:
    cols = list(load_contract().feeds[feed].columns)
    defs = ", ".join(f'"{c}" VARCHAR' for c in cols)
    con.execute(f"CREATE OR REPLACE TABLE source ({defs}, _row_number BIGINT, _shape_error VARCHAR)")
    data = []
    for i, r in enumerate(rows, start=1):
        vals = [(str(r[c]).strip() or None) if r.get(c) is not None else None for c in cols]
        data.append([*vals, i, (shape_errors or {}).get(i)])
    if data:
        con.executemany(f"INSERT INTO source VALUES ({', '.join('?' for _ in range(len(cols) + 2))})", data)


def typed_rows(con, feed: str, rows: list[dict], build=None) -> None:
    from ingest.normalize import build_typed

    source_table(con, feed, rows)
    (build or build_typed)(con, feed)


def check_rows(con, feed: str, rows: list[dict], today=None) -> dict[int, str | None]:
    """{row number: reason or None} for `rows` of `feed` checked against the tiny city."""
    import datetime as dt

    from ingest.checks import compile_checks, evaluate
    from ingest.crossfeed import enrich
    from ingest.pseudonymise import pseudonymise_table

    for t in ("peers", "self_idx"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    source_table(con, feed, rows)
    spec = load_contract().feeds[feed]
    for c in spec.columns.values():
        if c.pseudonymise:
            pseudonymise_table(con, "source", c.name)
    from ingest.normalize import build_typed

    build_typed(con, feed)
    enrich(con, feed)
    evaluate(con, compile_checks(feed, today=today or dt.date(2026, 11, 29)))
    return dict(
        con.execute(
            "SELECT t._row_number, r.reason FROM typed t LEFT JOIN reasons r USING (_row_number) ORDER BY 1"
        ).fetchall()
    )
