"""Dashboard pages and callbacks as plain functions, on a real DuckDB snapshot."""

from __future__ import annotations

import base64
import io
import json

import openpyxl
import plotly
import pytest

from dashboards.app import create_app, export_scorecard, render, sql_download, update_search
from dashboards.components import neutralise
from dashboards.queries import Queries, Scope

pytest_plugins = ("dashboard_fixture",)


def _json(component) -> str:
    if isinstance(component, list):
        return "".join(_json(c) for c in component)
    return json.dumps(component.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def _find(component, pred):
    """All sub-components for which pred(c) is true."""
    out = []

    def walk(c):
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
            return
        if not hasattr(c, "to_plotly_json"):
            return
        if pred(c):
            out.append(c)
        for attr in ("children", "figure"):
            walk(getattr(c, attr, None))

    walk(component)
    return out


PAGES = ["/", "/kpi", "/league", "/fund", "/supervision", "/quality", "/sql", "/closes"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders(dash_home, path, lang):
    head, page = render(path, f"?lang={lang}")
    text = _json(head) + _json(page)
    assert ("绩效看板" in text) == (lang == "zh")
    assert ("Scorecard" in text) == (lang == "en")
    assert "no-warehouse" not in text and "page-error" not in text


def test_no_warehouse_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCOM_HOME", str(tmp_path / "nothing"))
    _, page = render("/", "")
    assert "medcom build" in _json(page)


def test_scorecard_city_columns_and_drill_links(dash_home):
    _, page = render("/", "?month=2021-06&pt=month")
    table = _find(page, lambda c: getattr(c, "id", None) == "scorecard-0")[0]
    heads = _find(table, lambda c: getattr(c, "className", "") and "org-head" in c.className)
    names = _json(heads)
    assert names.index("许昌市") < names.index("襄城县") < names.index("禹州市")  # city column first
    links = [c.href for c in _find(table, lambda c: type(c).__name__ == "Link" and "level=county" in (c.href or ""))]
    assert any("org=411025" in h and "month=2021-06" in h for h in links)
    summary = _find(page, lambda c: getattr(c, "id", None) == "scorecard-summary")[0]
    assert "达标" in _json(summary) and "未达标" in _json(summary)
    cells = _find(table, lambda c: "cell status-" in (getattr(c, "className", "") or ""))
    assert {"status-green", "status-amber", "status-red"} <= {c.className.split()[1] for c in cells}


def test_drill_county_community_facility_and_breadcrumbs(dash_home):
    _, page = render("/", "?level=county&org=411025")
    text = _json(page)
    assert "襄城县人民医院医共体" in text and "level=community" in text
    _, page = render("/", "?level=community&org=C411025A")
    text = _json(page)
    assert "城关镇东村卫生室" in text and "level=facility" in text
    assert "村卫生室承担基本公卫任务占比" in text and "城关镇" in text  # township table for family B
    _, page = render("/", "?level=facility&org=F4110251000")
    crumbs = _find(page, lambda c: getattr(c, "id", None) == "breadcrumbs")[0]
    ctext = _json(crumbs)
    for name in ("许昌市", "襄城县", "襄城县人民医院医共体", "城关镇卫生院"):
        assert name in ctext
    assert "level=community&org=C411025A" in ctext or "org=C411025A" in ctext


def test_out_of_scope_org_falls_back_to_root(dash_home):
    head, page = render("/", "?level=county&org=411081", Scope("county", "411025"))
    text = _json(page)
    assert "禹州市" not in text and "襄城县" in text
    assert "查看范围: 襄城县" in _json(head)


def test_kpi_detail_has_target_step_and_definition(dash_home):
    _, page = render("/kpi", "?code=village_phs_task_share&level=city&org=411000")
    graph = _find(page, lambda c: getattr(c, "id", None) == "kpi-trend")[0]
    fig = graph.figure
    target = [tr for tr in fig.data if tr.name == "目标值"][0]
    assert {round(v, 6) for v in target.y} == {45.0, 50.0}
    assert target.line.shape == "hv"
    text = _json(page)
    assert "许政办〔2020〕19号" in text and "phs_services" in text
    assert _find(page, lambda c: getattr(c, "id", None) == "peer-stats")
    assert "中位数" in text
    assert _find(page, lambda c: getattr(c, "id", None) == "numden-table")


def test_kpi_detail_facility_level(dash_home):
    _, page = render("/kpi", "?code=e_registration_physicians&level=facility&org=F4110251000&lang=en")
    text = _json(page)
    assert "Physician e-registration rate" in text and "Definition" in text


def test_update_search_keeps_state():
    ids = [{"type": "qp", "name": "month"}, {"type": "qp", "name": "pt"}]
    s = update_search(["2021-03", "ytd"], ids, "?level=county&org=411025&lang=en")
    assert "level=county" in s and "org=411025" in s and "month=2021-03" in s and "pt=ytd" in s and "lang=en" in s
    s = update_search(["community:C411025A"], [{"type": "qp", "name": "lo"}], "?code=x")
    assert "level=community" in s and "org=C411025A" in s


def test_fund_page_balance(dash_home):
    _, page = render("/fund", "?year=2021")
    text = _json(page)
    assert "结余" in text and "超支" in text and "许昌市 合计" in text
    assert _find(page, lambda c: getattr(c, "id", None) == "fund-chart")


def test_supervision_page_lists(dash_home):
    _, page = render("/supervision", "?month=2021-12")
    text = _json(page)
    assert "open-inspections" in text and "overdue-complaints" in text
    assert "医师电子化注册率" in text and "县域就诊率" not in text  # family D only


def test_quality_page(dash_home):
    _, page = render("/quality", "?year=2021&late=10")
    text = _json(page)
    for part in ("completeness-grid", "batches-grid", "dq-grid", "quarantine-grid", "replacements-grid"):
        assert part in text
    assert "missing required column(s): amount" in text
    assert "cg-missing" in text and "cg-rejected" in text and "cg-late" in text


def _xlsx(payload) -> openpyxl.Workbook:
    raw = base64.b64decode(payload["content"]) if payload.get("base64") else payload["content"].encode()
    return openpyxl.load_workbook(io.BytesIO(raw))


def test_scorecard_xlsx_one_sheet_per_level_with_colours(dash_home):
    d = export_scorecard("?month=2021-06&level=community&org=C411025A")
    wb = _xlsx(d)
    assert [ws.title.split("-")[0] for ws in wb.worksheets] == ["市", "县（市、区）", "医共体"]
    ws = wb.worksheets[0]
    fills = {c.fill.fgColor.rgb for row in ws.iter_rows() for c in row if c.fill and c.fill.fgColor}
    assert {"FFC6EFCE", "FFFFEB9C", "FFFFC7CE"} & fills
    names = [c.value for c in ws[3]]
    assert names[2] == "许昌市" and "襄城县" in names


def test_report_html(dash_home):
    from access_helpers import ensure_user, login

    app = create_app(Scope())
    client = app.server.test_client()
    login(client, "report-admin", ensure_user(dash_home, "report-admin", "admin"))
    r = client.get("/report?month=2021-06&pt=ytd")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    for name in ("许昌市", "襄城县", "禹州市", "长葛市", "襄城县人民医院医共体"):
        assert name in body
    assert "page-break-before" in body
    assert client.get("/healthz").status_code == 200


def test_sql_execute_and_downloads(dash_home):
    from dashboards.sql_results import execute

    grid, status = execute("SELECT org_id, name FROM marts.dim_org WHERE org_level = 'county'", "zh")
    assert len(grid.rowData) == 3 and "返回 3 行" in status
    err, _ = execute("DELETE FROM marts.dim_org", "en")
    assert "not allowed" in err.children
    d = sql_download("csv", "SELECT '=1+1' AS f, '-3' AS g, 'ok' AS h, 2 AS n")
    raw = base64.b64decode(d["content"]).decode("utf-8-sig")
    assert raw.splitlines() == ["f,g,h,n", "'=1+1,'-3,ok,2"]
    wb = _xlsx(sql_download("xlsx", "SELECT '@SUM(A1)' AS f, 1.5 AS x"))
    assert wb.active["A2"].value == "'@SUM(A1)" and wb.active["B2"].value == 1.5
    assert sql_download("csv", "DROP TABLE marts.dim_org") is None


def test_neutralise():
    assert neutralise("=cmd") == "'=cmd" and neutralise("+1") == "'+1" and neutralise("@x") == "'@x"
    assert neutralise("-2") == "'-2" and neutralise("ok") == "ok" and neutralise(-2) == -2


def test_wsgi_exposes_server(dash_home):
    import importlib

    wsgi = importlib.import_module("dashboards.wsgi")
    assert wsgi.server is wsgi.app.server


def test_county_scoped_app(dash_home, monkeypatch):
    monkeypatch.setenv("MEDCOM_DASHBOARD_COUNTY", "411025")
    app = create_app()
    assert app.server is not None
    with Queries(Scope.from_env()) as q:
        assert q.root().name == "襄城县"


def test_many_member_facilities_become_a_list(dash_home, monkeypatch):
    from dashboards import scorecard

    monkeypatch.setattr(scorecard, "MAX_COLUMNS", 3)
    _, page = render("/", "?level=community&org=C411025A")
    tables = _find(page, lambda c: str(getattr(c, "id", "")) in {"scorecard-0", "scorecard-1", "scorecard-2"})
    assert len(tables) == 3  # the community, its facilities as rows, its townships
    text = _json(tables[1])
    assert "drill-facility-F4110251001" in text and "医师电子化注册率" in text


def test_pages_and_sql_sandbox_can_run_concurrently(dash_home):
    """A page holding its connection while the SQL page queries the same snapshot (threaded server)."""
    from dashboards.sql_results import execute

    with Queries() as q:
        assert q.months()
        grid, status = execute("SELECT 42 AS answer", "en")
        assert grid.rowData == [{"answer": 42}]
        assert q.kpis() is not None


def test_every_kpi_detail_renders(dash_home):
    with Queries() as q:
        codes = list(q.kpis().kpi_code)
    assert len(codes) >= 30
    for code in codes:
        _, page = render("/kpi", f"?code={code}")
        text = _json(page)
        assert "page-error" not in text and "definition-card" in text, code


def test_league_page_in_a_county_scope_shows_only_its_communities(dash_home):
    """A county user: no county league (it would show other counties' values), its own community league."""
    with Queries(Scope("county", "411025")) as q:
        assert q.league_choices() == [("community", "411025")]
        others = {
            c.name for c in q.orgs().pipe(lambda o: o[o.org_level == "county"]).itertuples() if c.org_id != "411025"
        }
    with Queries() as q:
        assert q.league_choices()[0] == ("county", None)
    _, page = render("/league", "?lang=en&league=county", Scope("county", "411025"))
    text = _json(page)
    assert "league-composite" in text and "Communities" in text and "page-error" not in text
    assert not any(name in text for name in others), others
