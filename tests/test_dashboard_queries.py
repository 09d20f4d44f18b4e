"""dashboards.queries on a real DuckDB snapshot with the warehouse-contract tables."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from dashboard_fixture import build_snapshot

from dashboards.queries import NoWarehouse, Org, Queries, Scope, parse_month

pytest_plugins = ("dashboard_fixture",)


def test_no_warehouse_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCOM_HOME", str(tmp_path / "empty"))
    with pytest.raises(NoWarehouse, match="no published warehouse"), Queries() as q:
        q.months()


def test_org_tree_and_breadcrumb_path(dash_home):
    with Queries() as q:
        root = q.root()
        assert root == Org("city", "411000", "许昌市")
        counties = q.children("city", root.id)["county"]
        assert [c.id for c in counties] == ["411025", "411081", "411082"]
        kids = q.children("community", "C411025A")
        assert kids["facility"] and all(f.level == "facility" for f in kids["facility"])
        assert {t.id for t in kids["township"]} == {"411025100", "411025101"}
        path = q.path("facility", "F4110251001")
        assert [o.level for o in path] == ["city", "county", "community", "facility"]
        assert [o.level for o in q.path("township", "411025100")] == ["city", "county", "community", "township"]


def test_cells_prefer_requested_period_then_kpi_own(dash_home):
    with Queries() as q:
        orgs = [q.root(), *q.children("city", "411000")["county"]]
        m = date(2021, 6, 1)
        ytd = q.cells(orgs, m, "ytd")
        by = ytd.groupby("kpi_code").period_type.first().to_dict()
        assert by["in_county_visit_rate"] == "ytd"
        assert by["e_registration_physicians"] == "month"  # monthly-only KPI still shown
        assert by["health_literacy"] == "year"
        assert by["downward_referral_growth"] == "ytd"
        month = q.cells(orgs, m, "month")
        assert month.groupby("kpi_code").period_type.first()["in_county_visit_rate"] == "month"
        # every (kpi, org) at most once
        assert not month.duplicated(["kpi_code", "org_level", "org_id"]).any()
        fam_d = q.cells(orgs, m, "month", families=("D",))
        assert set(fam_d.kpi_code) <= set(q.kpis().query("family == 'D'").kpi_code)


def test_county_scope_restricts_everything(dash_home):
    with Queries(Scope("county", "411025")) as q:
        assert q.root().id == "411025"
        assert not q.in_scope("city", "411000")
        assert not q.in_scope("county", "411081")
        assert not q.in_scope("community", "C411081A")
        assert q.in_scope("facility", "F4110251001")
        cells = q.cells([Org("county", "411081", "禹州市"), Org("county", "411025", "襄城县")], date(2021, 6, 1))
        assert set(cells.org_id) == {"411025"}
        assert q.path("facility", "F4110251001")[0].id == "411025"
        s = q.fund(2021)["summary"]
        assert set(s.level) == {"community", "county"} and set(s.county) == {"411025"}
        assert set(q.completeness(2021).county) == {"411025"}
        assert set(q.open_inspections(date(2021, 12, 1)).county_code) <= {"411025"}
        assert set(q.overdue_complaints(date(2021, 12, 1)).county_code) <= {"411025"}
        assert q.peers("in_county_visit_rate", "county", date(2021, 6, 1), "month").org_id.tolist() == ["411025"]
        b = q.batches()
        assert len(b) and b.file_name.str.contains("411025|C411025").all()


def test_trend_shows_the_2021_target_step(dash_home):
    with Queries() as q:
        tr = q.trend("village_phs_task_share", "city", "411000", "month")
        by_year = tr.assign(y=[p.year for p in tr.period]).groupby("y").target.unique()
        assert list(by_year[2020]) == [0.45] and list(by_year[2021]) == [0.5]


def test_fund_rollups_are_sums_of_communities(dash_home):
    with Queries() as q:
        f = q.fund(2021)
        s, m = f["summary"], f["monthly"]
        comm = s[s.level == "community"]
        county = s[(s.level == "county") & (s.org_id == "411025")].iloc[0]
        part = comm[comm.county == "411025"]
        assert county.spend_ytd == pytest.approx(part.spend_ytd.sum())
        assert county.projected_balance == pytest.approx(part.projected_balance.sum())
        city = s[s.level == "city"].iloc[0]
        assert city.annual_budget == pytest.approx(comm.annual_budget.sum())
        # December, community established before the year: projection = budget − spend
        r = comm[comm.org_id == "C411025A"].iloc[0]
        assert r.projected_balance == pytest.approx(r.annual_budget - r.spend_ytd)
        assert (m.groupby("org_id").prepaid_ytd.is_monotonic_increasing).all()


def test_fund_fallback_without_the_fund_mart_agrees(dash_home):
    with Queries() as q:
        mart = q._fund_monthly(2020).set_index(["org_id", "period"]).sort_index()
        derived = q._fund_from_kpis(2020)
        derived["period"] = derived.period.dt.date
        derived = derived.set_index(["org_id", "period"]).sort_index()
        for col in ("spend_ytd", "budget_ytd", "prepaid_ytd", "annual_budget", "execution", "projected_balance"):
            assert derived[col].to_numpy() == pytest.approx(mart[col].astype(float).to_numpy(), rel=1e-9), col


def test_supervision_lists(dash_home):
    with Queries() as q:
        insp = q.open_inspections(date(2021, 12, 1))
        assert len(insp) > 0 and insp.planned_month.max() <= pd.Timestamp(2021, 12, 1)
        comp = q.overdue_complaints(date(2021, 12, 1))
        assert len(comp) > 0 and (comp.days_overdue > 0).all()


def test_completeness_states(dash_home):
    with Queries() as q:
        cg = q.completeness(2021, late_day=10, today=date(2026, 1, 1))
        st = {(r.feed, r.county, r.month): r.state for r in cg.itertuples()}
        assert st[("workforce", "411081", 3)] == "missing"
        assert st[("phs_funds", "411025", 9)] == "rejected"
        assert "late" in set(cg.state) and "received" in set(cg.state)
        # a community feed counts for the community's county
        assert st[("fund_prepayments", "411082", 8)] in ("received", "late")
        # community feeds are not expected before the county's first community was established
        cg20 = q.completeness(2020, today=date(2026, 1, 1))
        st20 = {(r.feed, r.county, r.month): r.state for r in cg20.itertuples()}
        assert st20[("fund_budgets", "411082", 0)] == "missing"  # the county's community came in July 2020
        assert st20[("fund_prepayments", "411082", 3)] == "none"  # an event feed: nothing owed, nothing sent
        assert st20[("fund_prepayments", "411082", 7)] in ("received", "late")
        # yearly feeds: one cell per county (month 0)
        assert set(cg20[cg20.month == 0].feed) == {
            "population",
            "fund_budgets",
            "supervision_agencies",
            "reported_indicators",
        }
        # later deadline: fewer late cells
        assert (q.completeness(2021, late_day=20, today=date(2026, 1, 1)).state == "late").sum() < (
            cg.state == "late"
        ).sum()


def test_dictionary_and_last_load(dash_home):
    with Queries() as q:
        d = q.dictionary()
        assert {"marts", "audit"} <= set(d.schema)
        row = d[(d["table"] == "kpi_values") & (d["column"] == "status")].iloc[0]
        assert "green" in row.description
        assert q.last_load(["encounters"]) is not None


def test_new_snapshot_is_seen_without_restart(tmp_path, monkeypatch):
    """A new publish (CURRENT repointed) is read by the next request of the same process."""
    from dashboards.app import create_app, render

    home = tmp_path / "home"
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    build_snapshot(home, seed=1)
    create_app()  # a running app: nothing is cached across requests

    def city_value():
        with Queries() as q:
            c = q.cells([q.root()], date(2021, 6, 1), "month")
            return c.set_index("kpi_code").value["in_county_visit_rate"]

    before = city_value()
    _, page_before = render("/", "?month=2021-06")
    build_snapshot(home, seed=2)
    assert city_value() != before
    _, page_after = render("/", "?month=2021-06")
    assert str(page_before.to_plotly_json()) != str(page_after.to_plotly_json())


def test_parse_month():
    assert parse_month("2021-06") == date(2021, 6, 1)
    assert parse_month("202106") == date(2021, 6, 1)
    assert parse_month("2021-13") is None and parse_month("x") is None and parse_month(None) is None
