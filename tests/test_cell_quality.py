"""marts.kpi_cell_quality: the data quality behind each KPI cell, built by dbt from ingest's audit rows."""

from __future__ import annotations

from datetime import date

import pytest
from dq_city import NORMAL_MONTH, OUTLIER_MONTH, OUTLIER_WARNING, OUTLIER_WARNING_ZH
from ingest_helpers import CITY, COUNTY_A, COUNTY_B

KPI = "in_county_visit_rate"  # source feeds: encounters (+ registries)


@pytest.fixture(scope="module")
def con(dq_city):
    import warehouse

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDCOM_HOME", str(dq_city))
        c = warehouse.connect_reader()
        yield c
        c.close()


def _cell(con, level, org, month, pt="month"):
    y, m = map(int, month.split("-"))
    row = con.execute(
        "SELECT expected_deliveries, accepted_deliveries, completeness, failed_expectations, missing, warnings, "
        "warnings_zh, provisional FROM marts.kpi_cell_quality "
        "WHERE kpi_code = ? AND org_level = ? AND org_id = ? AND period_type = ? AND period = ?",
        [KPI, level, org, pt, date(y, m, 1)],
    ).fetchone()
    assert row is not None, (level, org, month, pt)
    return dict(
        zip(
            ["expected", "accepted", "completeness", "failed", "missing", "warnings", "warnings_zh", "provisional"],
            row,
            strict=True,
        )
    )


def test_outlier_batch_makes_its_cells_provisional_with_the_warning(con):
    c = _cell(con, "county", COUNTY_A, OUTLIER_MONTH)
    assert c["provisional"] is True
    assert (c["expected"], c["accepted"], c["completeness"], c["failed"]) == (1, 1, 1.0, 1)
    assert c["warnings"] == OUTLIER_WARNING and c["warnings_zh"] == OUTLIER_WARNING_ZH
    assert c["missing"] is None
    # year to date carries January's warning into February
    ytd = _cell(con, "county", COUNTY_A, NORMAL_MONTH, "ytd")
    assert ytd["provisional"] is True and ytd["failed"] == 1


def test_normal_batch_cell_is_not_provisional(con):
    c = _cell(con, "county", COUNTY_A, NORMAL_MONTH)
    assert c["provisional"] is False
    assert (c["expected"], c["accepted"], c["failed"], c["missing"], c["warnings"]) == (1, 1, 0, None, None)
    assert _cell(con, "county", COUNTY_A, "2020-12")["provisional"] is False


def test_missing_county_delivery_makes_the_city_cell_provisional(con):
    """County B delivered no encounters: its cells and the city's are incomplete; completeness is
    computed from audit.batch_coverage, not from file names."""
    b = _cell(con, "county", COUNTY_B, NORMAL_MONTH)
    assert (b["provisional"], b["expected"], b["accepted"]) == (True, 1, 0)
    assert b["missing"] == f"encounters {COUNTY_B} {NORMAL_MONTH}"
    city = _cell(con, "city", CITY, NORMAL_MONTH)
    assert (city["provisional"], city["expected"], city["accepted"], city["completeness"]) == (True, 2, 1, 0.5)
    assert city["missing"] == f"encounters {COUNTY_B} {NORMAL_MONTH}"


def test_every_kpi_value_with_a_dense_source_feed_has_a_quality_row(con):
    missing = con.execute(
        """SELECT count(*) FROM marts.kpi_values v
        JOIN marts.kpi_catalogue k USING (kpi_code)
        ANTI JOIN marts.kpi_cell_quality q USING (kpi_code, org_level, org_id, period_type, period)
        WHERE (' ' || k.source_feeds || ' ') LIKE '% encounters %'"""
    ).fetchone()[0]
    assert missing == 0


def test_dashboard_cells_carry_the_mark_and_tooltip(con, dq_city, monkeypatch):
    from dashboards import trust
    from dashboards.queries import Org, Queries

    monkeypatch.setenv("MEDCOM_HOME", str(dq_city))
    with Queries() as q:
        cells = q.cells([Org("county", COUNTY_A, "A"), Org("county", COUNTY_B, "B")], date(2021, 1, 1))
        trend = q.trend(KPI, "county", COUNTY_A, "month")
    row = cells[(cells.kpi_code == KPI) & (cells.org_id == COUNTY_A)].iloc[0].to_dict()
    assert row["provisional"] is True
    en, zh = trust.tooltip(row, "en"), trust.tooltip(row, "zh")
    # ingested today, years after the month: late (medcom ingest --received-at records a true arrival date)
    assert en == (
        f"Provisional: 1 of 1 expected deliveries received and accepted; 1 late; 1 batch warning(s): {OUTLIER_WARNING}"
    )
    assert zh == f"暂定数据：应报 1 份数据，已收并通过 1 份；迟报 1 份；批次预警 1 项：{OUTLIER_WARNING_ZH}"
    b = cells[(cells.kpi_code == KPI) & (cells.org_id == COUNTY_B)].iloc[0].to_dict()
    assert trust.tooltip(b, "zh") == f"暂定数据：应报 1 份数据，已收并通过 0 份；缺：就诊结算记录 {COUNTY_B} 2021-01"
    by_month = {str(p)[:7]: bool(v) for p, v in zip(trend.period, trend.provisional, strict=True)}
    assert by_month[OUTLIER_MONTH] is True and by_month[NORMAL_MONTH] is False


def test_completeness_grid_agrees_with_the_provisional_marks(con, dq_city, monkeypatch):
    """The data-quality page's grid reads the same model of expected deliveries as the marks: a county
    month the grid calls missing is exactly one the cell's tooltip names as missing."""
    from dashboards.queries import Queries

    monkeypatch.setenv("MEDCOM_HOME", str(dq_city))
    with Queries() as q:
        cg = q.completeness(2021, today=date(2026, 1, 1))
    st = {(r.feed, r.county, r.month): r.state for r in cg.itertuples()}
    assert st[("encounters", COUNTY_B, 1)] == "missing"
    assert st[("encounters", COUNTY_A, 1)] == "late"  # ingested today, years after its month
    assert st[("encounters", COUNTY_A, 3)] == "not_due"  # after the latest month with data
    for month in (OUTLIER_MONTH, NORMAL_MONTH):
        mm = int(month[5:])
        for county in (COUNTY_A, COUNTY_B):
            missing = _cell(con, "county", county, month)["missing"] or ""
            grid_missing = st[("encounters", county, mm)] in ("missing", "rejected")
            assert grid_missing == (f"encounters {county} {month}" in missing), (county, month, missing)
