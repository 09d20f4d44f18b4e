"""Great-expectations on DuckDB: the patch, the suites, real validation of a scratch file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from expectations import export, gx_duckdb
from expectations.suites import expectation_specs, suite_json
from expectations.validate import validate
from medcom.contract import load_contract


@dataclass(frozen=True)
class FakeCheck:  # same shape as ingest.checks.Check
    id: str
    reason: str
    invalid_sql: str
    columns: tuple[str, ...]


ENCOUNTER_CHECKS = [
    FakeCheck("encounters.row_shape", "{shape_error}", "_shape_error IS NOT NULL", ()),
    FakeCheck(
        "encounters.insured_township_code.pattern",
        "insured_township_code: '{value}' does not have the expected format",
        '"insured_township_code" IS NOT NULL AND NOT regexp_matches("insured_township_code", \'^\\d{9}$\')',
        ("insured_township_code",),
    ),
    FakeCheck(
        "encounters.fund_le_total", "fund_paid is larger than total_cost", "fund_paid > total_cost", ("fund_paid",)
    ),
    FakeCheck(
        "encounters.discharge_rule.needed",
        "inpatient encounter needs a discharge_date",
        "encounter_type = 'inpatient' AND discharge_date IS NULL",
        ("encounter_type", "discharge_date"),
    ),
    FakeCheck(
        "encounters.identity.no_duplicate_in_run",
        "duplicate of an earlier row in this run (same identity)",
        "_dup",
        ("insured_county", "encounter_id"),  # not a column of typed: must not matter
    ),
]

# 10 rows; the bad ones are marked.
ENCOUNTER_ROWS = """
SELECT * FROM (VALUES
 ('E1', 'p', '411025001', 'F1', 'outpatient', DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 5.00,  NULL, false),
 ('E2', 'p', '411025001', 'F1', 'outpatient', DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 12.00, NULL, false), -- fund > total
 ('E3', 'p', '41102500',  'F1', 'outpatient', DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 5.00,  NULL, false), -- pattern
 ('E4', 'p', NULL,        'F1', 'outpatient', DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 5.00,  NULL, false), -- not null
 ('E5', 'p', '411025001', 'F1', 'inpatient',  DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 5.00,  NULL, false), -- discharge
 ('E6', 'p', '411025001', 'F1', 'inpatient',  DATE '2020-10-01', DATE '2020-10-03',  'up',   'employee', -1.00, 0.00,  NULL, false), -- total < 0
 ('E7', 'p', '411025001', 'F1', NULL,         DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 5.00,  'row has 3 fields but the header has 13', false), -- shape
 ('E8', 'p', '411025001', 'F1', 'outpatient', DATE '2020-10-01', NULL,               'none', 'self_pay', 10.00, 0.00,  NULL, false),
 ('E8', 'p', '411025001', 'F1', 'outpatient', DATE '2020-10-01', NULL,               'none', 'self_pay', 10.00, 0.00,  NULL, true),  -- dup
 ('E9', 'p', '411025001', 'F1', 'emergency',  DATE '2020-10-01', NULL,               'none', 'resident', 10.00, 10.00, NULL, false)
) v(encounter_id, patient_id, insured_township_code, facility_id, encounter_type, visit_date, discharge_date,
    referral, scheme, total_cost, fund_paid, _shape_error, _dup)
"""


def make_encounters_db(path: Path, rows_sql: str = ENCOUNTER_ROWS) -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        f"""CREATE TABLE typed AS
        SELECT encounter_id, patient_id, insured_township_code, facility_id,
               CAST(NULL AS VARCHAR) AS facility_county_code, encounter_type, visit_date, discharge_date,
               referral, scheme, CAST(total_cost AS DECIMAL(18,2)) AS total_cost,
               CAST(fund_paid AS DECIMAL(18,2)) AS fund_paid, CAST(NULL AS VARCHAR) AS diagnosis_code,
               CAST(row_number() OVER () AS BIGINT) AS _row_number, _shape_error, _dup,
               insured_township_code AS insured_township_code__src
        FROM ({rows_sql})"""
    )
    con.close()
    return path


# ----------------------------------------------------------------------------- the patch
def test_patch_relies_on_gx_internals_that_still_exist():
    mod = __import__("great_expectations.execution_engine.sqlalchemy_execution_engine", fromlist=["x"])
    assert isinstance(mod._PERSISTED_CONNECTION_DIALECTS, tuple), "GX changed: re-check expectations/gx_duckdb.py"
    assert all(isinstance(d.value, str) for d in mod._PERSISTED_CONNECTION_DIALECTS)
    assert callable(mod._dialect_requires_persisted_connection)
    gx_duckdb.check()


def test_patch_is_idempotent_and_recognised_by_gx():
    gx_duckdb.apply()
    gx_duckdb.apply()
    mod = __import__("great_expectations.execution_engine.sqlalchemy_execution_engine", fromlist=["x"])
    entries = [d for d in mod._PERSISTED_CONNECTION_DIALECTS if d == "duckdb"]
    assert len(entries) == 1
    assert "duckdb" in mod._PERSISTED_CONNECTION_DIALECTS
    assert mod._dialect_requires_persisted_connection(connection_string="duckdb:////tmp/x.duckdb")
    assert "sqlite" in mod._PERSISTED_CONNECTION_DIALECTS  # GX's own entries untouched


def test_patched_gx_returns_real_metrics_on_duckdb(tmp_path):
    db = make_encounters_db(tmp_path / "scratch.duckdb")
    results = {r.expectation: r for r in validate(db, "encounters", [])}
    # without the patch GX gives observed_value None / no unexpected counts on DuckDB
    assert results["encounters.table.row_count"].observed_value == "10"
    assert results["encounters.table.row_count"].success
    nn = results["encounters.insured_township_code.not_null"]
    assert (nn.success, nn.unexpected_count, nn.element_count) == (False, 1, 10)


# ----------------------------------------------------------------------------- validation
def test_validate_counts_good_and_bad_rows(tmp_path):
    db = make_encounters_db(tmp_path / "scratch.duckdb")
    results = validate(db, "encounters", ENCOUNTER_CHECKS)
    specs = expectation_specs("encounters", ENCOUNTER_CHECKS)
    assert [r.expectation for r in results] == [s.medcom_id for s in specs]
    assert all(r.exception is None for r in results), [r for r in results if r.exception]
    got = {r.expectation: (r.success, r.unexpected_count) for r in results}
    assert got["encounters.table.columns"][0] is True
    assert got["encounters.encounter_id.not_null"] == (True, 0)
    assert got["encounters.insured_township_code.not_null"] == (False, 1)
    assert got["encounters.encounter_type.not_null"] == (False, 1)
    assert got["encounters.encounter_type.in_set"] == (True, 0)
    assert got["encounters.referral.in_set"] == (True, 0)
    assert got["encounters.total_cost.between"] == (False, 1)
    assert got["encounters.fund_paid.between"] == (True, 0)
    assert got["check:encounters.row_shape"] == (False, 1)
    assert got["check:encounters.insured_township_code.pattern"] == (False, 1)
    assert got["check:encounters.fund_le_total"] == (False, 2)  # E2, and E6 (0 > -1)
    assert got["check:encounters.discharge_rule.needed"] == (False, 1)
    assert got["check:encounters.identity.no_duplicate_in_run"] == (False, 1)
    by = {r.expectation: r for r in results}
    assert json.loads(by["check:encounters.fund_le_total"].observed_value) == {"unexpected_rows": 2}
    assert by["check:encounters.fund_le_total"].description == "fund_paid is larger than total_cost"
    assert by["check:encounters.insured_township_code.pattern"].description.startswith(
        "insured_township_code: the value does not"
    )


def test_all_good_rows_pass(tmp_path):
    good = "\n".join(line for line in ENCOUNTER_ROWS.split("\n") if "--" not in line)  # E1, E8, E9
    db = make_encounters_db(tmp_path / "good.duckdb", good)
    results = validate(db, "encounters", ENCOUNTER_CHECKS)
    assert all(r.success for r in results), [r for r in results if not r.success]


def test_unique_and_every_native_type_returns_a_result(tmp_path):
    """regions uses not_null, in_set and unique; all must give counts on DuckDB (regex did not)."""
    db = tmp_path / "regions.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        """CREATE TABLE typed AS SELECT * FROM (VALUES
           ('411000', 'city', 'city', NULL, 1), ('411025', 'c', 'county', '411000', 2),
           ('411025', 'c2', 'county', '411000', 3), ('411025001', NULL, 'township', '411025', 4)
        ) v(region_code, name, level, parent_code, _row_number)"""
    )
    con.close()
    results = {r.expectation: r for r in validate(db, "regions", [])}
    types = {s.type for s in expectation_specs("regions")}
    assert {"expect_column_values_to_be_unique", "expect_column_values_to_be_in_set"} <= types
    for r in results.values():
        assert r.exception is None
        assert r.unexpected_count is not None or r.observed_value is not None, r
    assert (results["regions.region_code.unique"].success, results["regions.region_code.unique"].unexpected_count) == (
        False,
        2,
    )
    assert results["regions.name.not_null"].unexpected_count == 1


def test_scratch_file_is_free_after_validate(tmp_path):
    db = make_encounters_db(tmp_path / "scratch.duckdb")
    validate(db, "encounters", ENCOUNTER_CHECKS)
    con = duckdb.connect(str(db))  # read-write: fails if GX still holds a read-only connection
    con.execute("CREATE TABLE after_gx AS SELECT 1 AS x")
    con.close()


def test_missing_table_gives_failed_results_not_a_crash(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(Exception):  # noqa: B017 - GX raises its own error types
        validate(db, "encounters", [])


# ----------------------------------------------------------------------------- suites
def test_suite_covers_contract():
    specs = expectation_specs("encounters", ENCOUNTER_CHECKS)
    ids = [s.medcom_id for s in specs]
    assert len(ids) == len(set(ids))
    feed = load_contract().feeds["encounters"]
    for col in feed.columns.values():
        if col.not_null:
            assert f"encounters.{col.name}.not_null" in ids
        if col.type == "enum":
            assert f"encounters.{col.name}.in_set" in ids
    assert "expect_column_values_to_match_regex" not in {s.type for s in specs}
    data = suite_json("encounters", ENCOUNTER_CHECKS)
    assert data["expectations"][-1]["type"] == "unexpected_rows_expectation"
    q = [e for e in data["expectations"] if e["meta"]["medcom_id"].endswith("pattern")][0]["kwargs"]
    assert "{{9}}" in q["unexpected_rows_query"]  # braces escaped for GX's str.format


def test_exported_suites_are_in_sync():
    want = export.rendered()
    have = {p.name: p.read_text(encoding="utf-8") for p in export.SUITES_DIR.glob("*.json")}
    assert set(have) == set(want), "run: python -m expectations.export"
    stale = sorted(name for name in want if have[name] != want[name])
    assert not stale, f"out of date (run: python -m expectations.export): {stale}"
    assert set(want) == {f"{f}.json" for f in load_contract().feeds}


def test_strict_between_on_integer_and_decimal_columns(tmp_path):
    """fund_budgets: min_exclusive (> 0) on BIGINT and DECIMAL, min (≥ 0) on DECIMAL."""
    db = tmp_path / "fb.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        """CREATE TABLE typed AS SELECT community_id, CAST(year AS INTEGER) AS year,
                  CAST(insured_residents AS BIGINT) AS insured_residents,
                  CAST(pooled_fund AS DECIMAL(18,2)) AS pooled_fund, CAST(risk_reserve AS DECIMAL(18,2)) AS risk_reserve,
                  CAST(quality_reserve AS DECIMAL(18,2)) AS quality_reserve,
                  CAST(critical_illness AS DECIMAL(18,2)) AS critical_illness, CAST(budget AS DECIMAL(18,2)) AS budget,
                  CAST(_row_number AS BIGINT) AS _row_number
           FROM (VALUES ('C1', 2021, 10, 100.0, 1, 1, 1, 97, 1),
                        ('C2', 2021, 0, 0.0, 0, 0, 0, 0.01, 2),
                        ('C3', 2021, 5, 10.5, -0.01, 0, 0, 10.51, 3)
           ) v(community_id, year, insured_residents, pooled_fund, risk_reserve, quality_reserve, critical_illness,
               budget, _row_number)"""
    )
    con.close()
    got = {r.expectation: (r.success, r.unexpected_count, r.exception) for r in validate(db, "fund_budgets", [])}
    assert got["fund_budgets.insured_residents.between"] == (False, 1, None)  # 0 is not > 0
    assert got["fund_budgets.pooled_fund.between"] == (False, 1, None)
    assert got["fund_budgets.budget.between"] == (True, 0, None)  # 0.01 > 0
    assert got["fund_budgets.risk_reserve.between"] == (False, 1, None)  # -0.01 < 0
    assert got["fund_budgets.quality_reserve.between"] == (True, 0, None)  # 0 ≥ 0
