"""The dashboard on a generated + ingested + built city (the shared `city_env` fixture; slow).

Data-agnostic: ids and names are discovered from the warehouse, so these run on any built city.
"""

from __future__ import annotations

import base64
import io
import json

import openpyxl
import plotly
import pytest

from dashboards.app import export_scorecard, render
from dashboards.queries import Queries, Scope

pytestmark = pytest.mark.slow

STATUSES = {"green", "amber", "red", "none", "insufficient", "no_data"}


def _json(c) -> str:
    return json.dumps(c.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


@pytest.mark.parametrize("path", ["/", "/kpi", "/fund", "/supervision", "/quality", "/sql"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_render_on_the_built_city(city_env, path, lang):
    _, page = render(path, f"?lang={lang}")
    text = _json(page)
    assert "no-warehouse" not in text and "page-error" not in text


def test_drill_path_on_the_built_city(city_env):
    with Queries() as q:
        city = q.root()
        assert city.level == "city"
        months = q.months()
        assert months
        counties = q.children("city", city.id)["county"]
        cells = q.cells([city, *counties], months[-1], "month")
        assert len(cells) and set(cells.status) <= STATUSES
        assert set(cells[cells.org_level == "county"].org_id) <= {c.id for c in counties}
        county = next(c for c in counties if q.children("county", c.id))
        community = q.children("county", county.id)["community"][0]
        facility = q.children("community", community.id)["facility"][0]
        assert [o.id for o in q.path("facility", facility.id)] == [city.id, county.id, community.id, facility.id]
    for level, org in (("county", county), ("community", community), ("facility", facility)):
        _, page = render("/", f"?level={level}&org={org.id}")
        text = _json(page)
        assert org.name in text and city.name in text  # breadcrumb


def test_target_step_on_the_built_city(city_env):
    with Queries() as q:
        city = q.root()
        tr = q.trend("village_phs_task_share", "city", city.id, "month")
        years = {p.year for p in tr.period}
        if not {2020, 2021} <= years:
            pytest.skip("the built city does not span 2020 and 2021")
        t20 = set(tr[[p.year == 2020 for p in tr.period]].target.dropna())
        t21 = set(tr[[p.year == 2021 for p in tr.period]].target.dropna())
        assert t20 and t21 and max(t20) < min(t21)
    _, page = render("/kpi", f"?code=village_phs_task_share&level=city&org={city.id}")
    assert "kpi-trend" in _json(page)


def test_fund_totals_on_the_built_city(city_env):
    with Queries() as q:
        years = q.fund_years()
        assert years
        s = q.fund(years[-1])["summary"]
        comm = s[(s.level == "community") & s.annual_budget.notna()]
        city = s[s.level == "city"].iloc[0]
        assert city.spend_ytd == pytest.approx(comm.spend_ytd.sum())
        assert city.projected_balance == pytest.approx(comm.projected_balance.sum())


def test_quality_and_export_on_the_built_city(city_env):
    with Queries() as q:
        years = q.batch_years()
        cg = q.completeness(years[0])
        assert set(cg.state) <= {"received", "late", "rejected", "missing", "not_due", "na", "none"}
        enc = cg[(cg.feed == "encounters") & (cg.state != "not_due")]
        assert (enc.state.isin(["received", "late"])).mean() > 0.5
        assert len(q.batches())
    d = export_scorecard("")
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(d["content"])))
    assert len(wb.worksheets) == 1 and wb.active.max_row > 10


def test_county_scope_on_the_built_city(city_env):
    with Queries() as q:
        city = q.root()
        county = q.children("city", city.id)["county"][0]
    with Queries(Scope("county", county.id)) as q:
        assert q.root().id == county.id
        assert not q.in_scope("city", city.id)
        assert q.city() is None  # a county viewer reads the county's snapshot: the city row is not in it
    _, page = render("/", "", Scope("county", county.id))
    assert county.name in _json(page)


def test_sql_page_callbacks_on_the_built_city(city_env):
    from dashboards.app import sql_download
    from dashboards.sql_results import execute

    grid, status = execute("SELECT kpi_code, count(*) AS n FROM marts.kpi_values GROUP BY ALL ORDER BY 1", "zh")
    assert len(grid.rowData) >= 30 and status
    d = sql_download("csv", "SELECT org_level, org_id, name FROM marts.dim_org ORDER BY 1, 2 LIMIT 5")
    assert base64.b64decode(d["content"]).decode("utf-8-sig").startswith("org_level,org_id,name")
