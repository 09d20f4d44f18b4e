"""Batch-level expectations (expectations/batch.py) through real ingest runs and real GX on DuckDB."""

from __future__ import annotations

import io
import json

import duckdb
from ingest_helpers import COUNTY_A, encounters, write_csv
from test_ingest_pipeline import city  # noqa: F401  (fixture)

from ingest.run import ingest_paths

HISTORY = {f"2020-{m:02d}": n for m, n in zip(range(5, 13), [196, 204, 200, 194, 206, 200, 198, 202], strict=True)}


def _ingest(*paths):
    out = io.StringIO()
    res = ingest_paths(list(paths), out=out)
    return res, out.getvalue()


def _month_file(inbox, month, n, county=COUNTY_A):
    write_csv(inbox / "encounters" / f"encounters_{month}_{county}.csv", encounters(n, month=month))


def _q(home, sql, params=()):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        return c.execute(sql, list(params)).fetchall()


def _history(home, tmp_path):
    inbox = tmp_path / "history"
    for month, n in HISTORY.items():
        _month_file(inbox, month, n)
    res, out = _ingest(inbox)
    assert res.ok, out
    return res


def test_too_little_history_is_skipped_with_its_reason_and_every_expectation_has_a_row(city, tmp_path):  # noqa: F811
    res = _history(city, tmp_path)
    first = res.outcomes[0]  # 2020-05: nothing before it
    rows = _q(
        city,
        "SELECT expectation, status, message, observed_value FROM audit.dq_results WHERE batch_id = ? ORDER BY 1",
        [first.batch_id],
    )
    by = {r[0]: r for r in rows}
    assert set(by) == {
        f"encounters.{e}"
        for e in (
            "volume",
            "inpatient_share",
            "self_pay_share",
            "out_of_county_share",
            "mean_cost",
            "facilities_reporting",
            "fund_le_total_by_scheme",
        )
    }
    assert by["encounters.volume"][1] == "skipped"
    assert by["encounters.volume"][2] == f"{COUNTY_A} 2020-05: only 0 earlier months of history (needs 6)"
    assert json.loads(by["encounters.volume"][3])["keys"][0]["observed"] == 196
    assert by["encounters.fund_le_total_by_scheme"][1] == "passed"  # needs no history
    # the 7th month has 6 earlier months (from the same run): evaluated, and normal
    seventh = res.outcomes[6]
    status = dict(_q(city, "SELECT expectation, status FROM audit.dq_results WHERE batch_id = ?", [seventh.batch_id]))
    assert set(status.values()) == {"passed"}, status
    # one row per expectation per batch, for every batch of the run
    per_batch = _q(city, "SELECT batch_id, count(*) FROM audit.dq_results GROUP BY 1")
    assert {n for _, n in per_batch} == {7} and len(per_batch) == len(HISTORY)


def test_half_volume_batch_gets_exactly_the_volume_warning_and_a_normal_batch_none(city, tmp_path):  # noqa: F811
    _history(city, tmp_path)
    inbox = tmp_path / "new"
    _month_file(inbox, "2021-01", 100)  # half the county's usual ~200
    _month_file(inbox, "2021-02", 201)
    res, out = _ingest(inbox)
    assert res.ok, out
    low, normal = res.outcomes
    assert low.verdict == normal.verdict == "accepted"  # a warning never changes the verdict
    want = f"{COUNTY_A} 2021-01: 100 encounters, 50% below its usual 200"
    assert low.warnings == [want], low.warnings
    assert normal.warnings == [], normal.warnings
    assert f"warning: {want}" in out
    assert _q(city, "SELECT warnings FROM audit.ingest_batches WHERE batch_id = ?", [low.batch_id]) == [(want,)]
    got = _q(
        city,
        "SELECT success, status, unexpected_count, observed_value FROM audit.dq_results "
        "WHERE batch_id = ? AND expectation = 'encounters.volume'",
        [low.batch_id],
    )
    success, status, unexpected, observed = got[0]
    assert (success, status, unexpected) == (False, "failed", 1)
    key = json.loads(observed)["keys"][0]
    assert key["observed"] == 100 and key["usual"] == 200 and key["history_months"] == 8 and key["z"] < -3.5
    findings = _q(city, "SELECT batch_id, expectation, county, period, message, message_zh FROM audit.dq_findings")
    want_zh = f"{COUNTY_A} 2021-01：100 人次，比常态 200 低 50%"
    assert findings == [(low.batch_id, "encounters.volume", COUNTY_A, "2021-01", want, want_zh)]
    others = _q(
        city, "SELECT count(*) FROM audit.dq_results WHERE batch_id = ? AND status <> 'passed'", [normal.batch_id]
    )
    assert others == [(0,)]


def test_batch_coverage_rows_per_key(city, tmp_path):  # noqa: F811
    inbox = tmp_path / "cov"
    rows = encounters(30, month="2021-03")
    rows[0]["total_cost"] = "abc"  # quarantined, still of 411025:2021-03
    write_csv(inbox / "encounters" / "encounters_2021-03_411025.csv", rows)
    res, out = _ingest(inbox)
    assert [o.verdict for o in res.outcomes] == ["accepted_with_quarantine"], out
    got = _q(city, "SELECT feed, org, county, period, rows_loaded, rows_quarantined FROM audit.batch_coverage")
    assert got == [("encounters", COUNTY_A, COUNTY_A, "2021-03", 29, 1)]


def test_received_at_records_the_true_arrival_date(city, tmp_path):  # noqa: F811
    from medcom_cli import run_medcom

    inbox = tmp_path / "late"
    _month_file(inbox, "2021-03", 30)
    p = run_medcom("ingest", "--received-at", "2021-04-05", str(inbox), home=city)
    assert p.returncode == 0, p.stdout + p.stderr
    got = _q(city, "SELECT received_at, received_at_stated FROM audit.ingest_batches WHERE feed = 'encounters'")
    assert [(str(r[0]), r[1]) for r in got] == [("2021-04-05 00:00:00", True)]
    bad = run_medcom("ingest", "--received-at", "2999-01-01", str(inbox), home=city)
    assert bad.returncode != 0 and "--received-at 2999-01-01 is in the future" in bad.stderr, bad.stderr
    bad = run_medcom("ingest", "--received-at", "5 April", str(inbox), home=city)
    assert bad.returncode != 0 and "is not a date" in bad.stderr, bad.stderr
