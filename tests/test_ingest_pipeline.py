"""`medcom ingest` end to end on tiny hand-made files: verdicts, quarantine, the 1% rule,
duplicates, corrections (supersession), reference snapshots, pseudonymisation, exit codes."""

from __future__ import annotations

import io
import json

import duckdb
import pytest
from ingest_helpers import (
    COUNTY_A,
    FACILITIES,
    RESIDENT_IDS,
    TWP_A,
    TWP_B,
    encounter,
    encounters,
    write_csv,
    write_reference,
)
from medcom_cli import run_medcom

from ingest.run import ingest_paths


def ingest(*paths):
    out = io.StringIO()
    res = ingest_paths(list(paths), out=out)
    return res, out.getvalue()


def wh(home):
    return duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)


def q(home, sql, params=None):
    with wh(home) as c:
        return c.execute(sql, params or []).fetchall()


@pytest.fixture
def city(medcom_home, tmp_path):
    """Warehouse with the tiny city's reference snapshot loaded."""
    inbox = tmp_path / "ref"
    write_reference(inbox)
    res, out = ingest(inbox)
    assert res.ok, out
    return medcom_home


def test_reference_then_activity_accepted(medcom_home, tmp_path):
    inbox = tmp_path / "inbox"
    write_reference(inbox)
    write_csv(inbox / "encounters" / "encounters_2021-01_411025.csv", encounters(200))
    # a loose file named after its feed, and one whose feed cannot be told
    write_csv(inbox / "phs_weights_2021.csv", [{"service_code": "预防接种", "year": "2021", "weight": "1.5"}])
    write_csv(inbox / "stuff.csv", [{"a": "1"}])
    res, out = ingest(inbox)
    verdicts = {o.display_name: o.verdict for o in res.outcomes}
    assert verdicts == {
        "regions/regions.csv": "accepted",
        "facilities/facilities.csv": "accepted",
        "communities/communities.csv": "accepted",
        "memberships/memberships.csv": "accepted",
        "catchments/catchments.csv": "accepted",
        "encounters/encounters_2021-01_411025.csv": "accepted",
        "phs_weights_2021.csv": "accepted",
        "stuff.csv": "rejected",
    }
    assert not res.ok
    assert "REJECTED                  stuff.csv  cannot tell which feed this file belongs to" in out
    assert "accepted                  encounters/encounters_2021-01_411025.csv  200 rows" in out
    assert q(medcom_home, "SELECT count(*), count(DISTINCT _coverage_key) FROM raw.encounters") == [(200, 1)]
    assert q(medcom_home, "SELECT DISTINCT _coverage_key FROM raw.encounters") == [("411025:2021-01",)]
    assert q(medcom_home, "SELECT grade FROM raw.facilities WHERE facility_id = 'T1'") == [("none",)]
    assert q(medcom_home, "SELECT DISTINCT referral FROM raw.encounters") == [("none",)]
    batches = q(
        medcom_home,
        "SELECT feed, verdict, rows_read, rows_loaded, coverage FROM audit.ingest_batches ORDER BY batch_id",
    )
    assert ("encounters", "accepted", 200, 200, "411025:2021-01") in batches
    assert (None, "rejected", 0, 0, None) in batches
    assert q(medcom_home, "SELECT count(*) > 0 FROM audit.dq_results")[0][0]
    assert q(medcom_home, "SELECT count(*) FROM audit.runs WHERE finished_at IS NOT NULL") == [(1,)]
    # every file archived byte-for-byte; readers see a published snapshot
    for sha in [r[0] for r in q(medcom_home, "SELECT sha256 FROM audit.ingest_batches")]:
        assert (medcom_home / "archive" / sha[:2] / sha).exists()
    assert (medcom_home / "published" / "CURRENT").exists()


def _with_invalid(n, bad_rows, month):
    rows = encounters(n, month=month)
    for i in bad_rows:
        rows[i - 1]["total_cost"] = "abc"
    return rows


def test_quarantine_and_the_one_percent_rule(city, tmp_path):
    inbox = tmp_path / "inbox"
    # 5 of 500 = exactly 1%: not more than 1% -> quarantine
    write_csv(inbox / "encounters" / "a_2021-01.csv", _with_invalid(500, [3, 50, 100, 200, 400], "2021-01"))
    # 6 of 500 > 1% and >= 5 -> rejected
    write_csv(inbox / "encounters" / "b_2021-02.csv", _with_invalid(500, [1, 2, 3, 4, 5, 6], "2021-02"))
    # 4 of 100 = 4% but fewer than 5 -> quarantine
    write_csv(inbox / "encounters" / "c_2021-03.csv", _with_invalid(100, [7, 8, 9, 10], "2021-03"))
    res, out = ingest(inbox)
    by = {o.display_name: o for o in res.outcomes}
    a, b, c = by["encounters/a_2021-01.csv"], by["encounters/b_2021-02.csv"], by["encounters/c_2021-03.csv"]
    assert (a.verdict, a.rows_loaded, a.rows_quarantined) == ("accepted_with_quarantine", 495, 5)
    assert (c.verdict, c.rows_loaded, c.rows_quarantined) == ("accepted_with_quarantine", 96, 4)
    assert b.verdict == "rejected"
    assert b.reasons.startswith("too many invalid rows: 6 of 500 (more than 1% and at least 5)")
    assert "row 1: total_cost: 'abc' is not a valid amount" in b.reasons
    assert "accepted with quarantine  encounters/a_2021-01.csv  495 loaded, 5 quarantined (first reasons: row 3:" in out
    assert not res.ok
    assert q(city, "SELECT count(*) FROM raw.encounters") == [(591,)]
    qrows = q(city, "SELECT batch_id, row_number, reason, row_json FROM audit.quarantine ORDER BY batch_id, row_number")
    assert [r[1] for r in qrows] == [3, 50, 100, 200, 400, 7, 8, 9, 10]
    assert {r[2] for r in qrows} == {"total_cost: 'abc' is not a valid amount"}
    row = json.loads(qrows[0][3])
    assert row["total_cost"] == "abc" and row["encounter_id"] == "E202101000003"
    assert row["patient_id"] == "P00003"
    assert len(json.loads(qrows[1][3])["patient_id"]) == 64  # row 50 had a resident ID: pseudonymised
    assert q(
        city,
        "SELECT verdict, rows_loaded, rows_quarantined FROM audit.ingest_batches WHERE file_name LIKE '%b_2021-02%'",
    ) == [("rejected", 0, 0)]


def test_resend_is_duplicate_and_correction_replaces_its_keys(city, tmp_path):
    f1 = write_csv(tmp_path / "r1" / "encounters" / "encounters_2021-01_411025.csv", encounters(100))
    other = write_csv(
        tmp_path / "r1" / "encounters" / "encounters_2021-01_411002.csv", encounters(30, county_twp=TWP_B)
    )
    res, _ = ingest(tmp_path / "r1")
    assert res.ok
    b1 = {o.display_name: o.batch_id for o in res.outcomes}
    # the same bytes again: duplicate, a no-op
    res, out = ingest(f1)
    assert [o.verdict for o in res.outcomes] == ["duplicate"] and res.ok
    assert "duplicate" in out
    assert q(city, "SELECT count(*) FROM raw.encounters") == [(130,)]
    # a correction for 411025 × 2021-01 with 40 rows replaces exactly that key
    f2 = write_csv(tmp_path / "r2" / "encounters_2021-01_411025_v2.csv", encounters(40))
    res, out = ingest(f2)
    assert res.ok
    new = res.outcomes[0].batch_id
    assert q(city, "SELECT count(*) FROM raw.encounters") == [(170,)]  # history kept
    assert q(
        city, "SELECT _coverage_key, count(*) FROM raw.encounters WHERE _superseded_by IS NULL GROUP BY 1 ORDER BY 1"
    ) == [
        ("411002:2021-01", 30),
        ("411025:2021-01", 40),
    ]
    assert q(
        city,
        "SELECT old_batch_id, new_batch_id, feed, coverage_key, rows_replaced FROM audit.replacements "
        "WHERE feed = 'encounters'",
    ) == [(b1["encounters/encounters_2021-01_411025.csv"], new, "encounters", "411025:2021-01", 100)]
    assert "more than half of the rows dropped" in out
    assert q(
        city,
        "SELECT DISTINCT _superseded_by FROM raw.encounters WHERE _batch_id = ?",
        [b1["encounters/encounters_2021-01_411025.csv"]],
    ) == [(new,)]
    # the original file again: its rows are no longer current, so it is processed anew
    res, _ = ingest(f1)
    assert res.outcomes[0].verdict == "accepted"
    assert q(
        city, "SELECT count(*) FROM raw.encounters WHERE _superseded_by IS NULL AND _coverage_key = '411025:2021-01'"
    ) == [(100,)]
    assert other.exists()


def test_identity_loaded_earlier_is_replaced_whatever_its_key(city, tmp_path):
    write_csv(tmp_path / "r1" / "encounters_2021-01.csv", encounters(10))
    assert ingest(tmp_path / "r1")[0].ok
    # encounter 3 re-sent in February's file (visit moved to February): replaces the January row
    moved = encounter(3, visit_date="2021-02-02")
    write_csv(tmp_path / "r2" / "encounters_2021-02.csv", [moved, *encounters(5, month="2021-02")])
    res, _ = ingest(tmp_path / "r2")
    assert res.ok
    cur = q(
        city,
        "SELECT encounter_id, visit_date FROM raw.encounters WHERE _superseded_by IS NULL AND encounter_id = 'E202101000003'",
    )
    assert [str(r[1]) for r in cur] == ["2021-02-02"]
    assert q(city, "SELECT count(*) FROM raw.encounters WHERE _superseded_by IS NULL") == [(15,)]
    assert q(city, "SELECT coverage_key, rows_replaced FROM audit.replacements WHERE feed = 'encounters'") == [
        ("411025:2021-01", 1)
    ]


def test_duplicates_within_a_run_across_files(city, tmp_path):
    inbox = tmp_path / "inbox" / "encounters"
    write_csv(inbox / "a.csv", encounters(200))
    write_csv(inbox / "b.csv", [encounter(7), *encounters(199, month="2021-02")])
    res, _ = ingest(tmp_path / "inbox")
    by = {o.display_name: o for o in res.outcomes}
    assert by["encounters/a.csv"].verdict == "accepted"
    b = by["encounters/b.csv"]
    assert (b.verdict, b.rows_loaded, b.rows_quarantined) == ("accepted_with_quarantine", 199, 1)
    assert q(city, "SELECT row_number, reason FROM audit.quarantine") == [
        (1, "duplicate of an earlier row in this run (same identity)")
    ]
    # files of one run never replace each other
    assert q(city, "SELECT count(*) FROM audit.replacements WHERE feed = 'encounters'") == [(0,)]


def test_reference_snapshot_replaced_with_history(city, tmp_path):
    old_batch = q(city, "SELECT DISTINCT _batch_id FROM raw.facilities")[0][0]
    rows = [f for f in FACILITIES if f["facility_id"] != "V1"] + [
        {**FACILITIES[2], "facility_id": "V2", "name": "新村卫生室"}
    ]
    write_csv(tmp_path / "f" / "facilities" / "facilities.csv", rows)
    res, _ = ingest(tmp_path / "f")
    assert res.ok
    new_batch = res.outcomes[0].batch_id
    assert q(city, "SELECT facility_id FROM raw.facilities WHERE _superseded_by IS NULL ORDER BY 1") == [
        ("H1",),
        ("H2",),
        ("T1",),
        ("V2",),
    ]
    assert q(city, "SELECT count(*) FROM raw.facilities") == [(8,)]
    assert q(city, "SELECT old_batch_id, new_batch_id, coverage_key, rows_replaced FROM audit.replacements") == [
        (old_batch, new_batch, "all", 4)
    ]
    # an invalid registry row rejects the whole file and changes nothing
    bad = [*rows, {**FACILITIES[0], "facility_id": "X1", "county_code": "411099"}]
    write_csv(tmp_path / "g" / "facilities" / "facilities.csv", bad)
    res, out = ingest(tmp_path / "g")
    assert not res.ok
    assert res.outcomes[0].reasons.startswith(
        "registry file has invalid rows: 1 of 5; first reasons: row 5: county_code: '411099'"
    )
    assert q(city, "SELECT count(*), count(*) FILTER (WHERE _superseded_by IS NULL) FROM raw.facilities") == [(8, 4)]


def test_raw_resident_ids_reach_no_table(city, tmp_path):
    rows = encounters(300)
    rows[4]["total_cost"] = "oops"  # a quarantined row carrying a resident ID
    rows[4]["patient_id"] = RESIDENT_IDS[0]
    rows[6]["patient_id"] = " " + RESIDENT_IDS[0].lower() + " "
    write_csv(tmp_path / "i" / "encounters_2021-01.csv", rows)
    res, _ = ingest(tmp_path / "i")
    assert res.ok and res.outcomes[0].rows_quarantined == 1
    needles = set(RESIDENT_IDS) | {r.lower() for r in RESIDENT_IDS}
    for db in [city / "warehouse.duckdb", *sorted((city / "published").glob("*.duckdb"))]:
        with duckdb.connect(str(db), read_only=True) as c:
            cols = c.execute(
                "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                "WHERE data_type = 'VARCHAR' AND database_name = current_database()"
            ).fetchall()
            assert cols
            for s, t, col in cols:
                hits = c.execute(
                    f'SELECT count(*) FROM "{s}"."{t}" WHERE ' + " OR ".join(f'contains("{col}", ?)' for _ in needles),
                    list(needles),
                ).fetchone()[0]
                assert hits == 0, (db.name, s, t, col)
    assert not list((city / "tmp").glob("**/*.duckdb"))  # scratch files are gone


def test_exit_codes(medcom_home, tmp_path):
    inbox = tmp_path / "inbox"
    write_reference(inbox)
    p = run_medcom("ingest", str(inbox), home=medcom_home)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "5 file(s): 5 accepted" in p.stdout
    p = run_medcom("ingest", str(inbox), home=medcom_home)
    assert p.returncode == 0 and "5 duplicate" in p.stdout
    bad = write_csv(tmp_path / "bad" / "encounters_2021-01.csv", [{"encounter_id": "1"}])
    p = run_medcom("ingest", str(bad), home=medcom_home)
    assert p.returncode == 1
    assert "REJECTED" in p.stdout and "missing required column(s)" in p.stdout
    p = run_medcom("ingest", str(tmp_path / "nope"), home=medcom_home)
    assert p.returncode == 2 and "no such file or folder" in p.stderr
    _ = COUNTY_A, TWP_A


def test_reference_files_of_one_run_form_one_snapshot(city, tmp_path):
    inbox = tmp_path / "split" / "facilities"
    write_csv(inbox / "facilities_a.csv", FACILITIES[:2])
    write_csv(inbox / "facilities_b.csv", FACILITIES[2:])  # V1's parent T1 is in the other file
    res, _ = ingest(tmp_path / "split")
    assert [o.verdict for o in res.outcomes] == ["accepted", "accepted"]
    assert q(city, "SELECT count(*) FROM raw.facilities WHERE _superseded_by IS NULL") == [(4,)]
    assert q(city, "SELECT rows_replaced FROM audit.replacements") == [(4,)]
    # the same facility in two files of one run is not unique
    dup = tmp_path / "dup" / "facilities"
    write_csv(dup / "facilities_a.csv", FACILITIES[:2])
    write_csv(dup / "facilities_b.csv", FACILITIES[1:])
    res, _ = ingest(tmp_path / "dup")
    assert [o.verdict for o in res.outcomes] == ["rejected", "rejected"]
    assert "facility_id: value is not unique in the file" in res.outcomes[0].reasons
    assert q(city, "SELECT count(*) FROM raw.facilities WHERE _superseded_by IS NULL") == [(4,)]


def test_registry_split_over_files_is_never_loaded_partly(city, tmp_path):
    """One file of a reference snapshot rejected → the whole snapshot is rejected, the old one stays."""
    before = q(city, "SELECT facility_id FROM raw.facilities WHERE _superseded_by IS NULL ORDER BY 1")
    inbox = tmp_path / "split" / "facilities"
    write_csv(inbox / "facilities_a.csv", FACILITIES[:2])  # valid on its own
    write_csv(inbox / "facilities_b.csv", [{**f, "county_code": "411099"} for f in FACILITIES[2:]])  # invalid
    res, out = ingest(tmp_path / "split")
    assert not res.ok
    assert [o.verdict for o in res.outcomes] == ["rejected", "rejected"]
    assert "registry file has invalid rows" in res.outcomes[1].reasons
    assert res.outcomes[0].reasons.startswith("another file of this registry snapshot was rejected (")
    assert q(city, "SELECT facility_id FROM raw.facilities WHERE _superseded_by IS NULL ORDER BY 1") == before
    assert q(city, "SELECT count(*) FROM audit.replacements WHERE feed = 'facilities'") == [(0,)]
    assert q(city, "SELECT count(*) FROM audit.ingest_batches WHERE feed = 'facilities' AND verdict = 'rejected'") == [
        (2,)
    ]
