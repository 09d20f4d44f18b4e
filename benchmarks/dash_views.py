"""The dashboard views the benchmarks render, and the requests a browser sends for one view.

A page view in the browser is two callback POSTs to `/_dash-update-component` once the app shell
is loaded: Dash Pages' router (`_pages_content.children`, the page body) and the top bar
(`header.children`), both with the URL's pathname and query string. `views(home)` names one
URL per view the issue lists (scorecard city / county / community, KPI detail, fund,
supervision, quality, SQL page — and the closes page), taking the orgs, KPI and month from the
published snapshot so nothing is tied to one city.
"""

from __future__ import annotations

import duckdb

ROUTER = {
    "output": ".._pages_content.children..._pages_store.data..",
    "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
}
HEADER = {"output": "header.children", "outputs": {"id": "header", "property": "children"}}


def payloads(path: str, search: str) -> list[dict]:
    """The two callback bodies a browser POSTs for the view at `path` + `search`."""
    inputs = [
        {"id": "_pages_location", "property": "pathname", "value": path},
        {"id": "_pages_location", "property": "search", "value": search},
    ]
    changed = ["_pages_location.pathname", "_pages_location.search"]
    return [{**cb, "inputs": inputs, "changedPropIds": changed, "state": []} for cb in (ROUTER, HEADER)]


def views(snapshot: str) -> dict[str, tuple[str, str]]:
    """{view name: (path, query string)} for the snapshot's data (its top org, first county, the
    county's first community, the latest month)."""
    con = duckdb.connect(snapshot, read_only=True)
    try:
        month = con.execute(
            "SELECT strftime(max(period), '%Y-%m') FROM marts.kpi_values WHERE period_type = 'month'"
        ).fetchone()[0]
        county = con.execute("SELECT min(org_id) FROM marts.dim_org WHERE org_level = 'county'").fetchone()[0]
        community = con.execute(
            "SELECT min(org_id) FROM marts.dim_org WHERE org_level = 'community' AND parent_id = ?", [county]
        ).fetchone()[0]
        code = con.execute(
            "SELECT kpi_code FROM marts.kpi_values WHERE org_level = 'county' ORDER BY kpi_code LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()
    m = f"month={month}"
    return {
        "scorecard_city": ("/", f"?{m}"),
        "scorecard_county": ("/", f"?{m}&level=county&org={county}"),
        "scorecard_community": ("/", f"?{m}&level=community&org={community}"),
        "kpi_detail": ("/kpi", f"?{m}&code={code}&level=county&org={county}"),
        "fund": ("/fund", f"?{m}"),
        "supervision": ("/supervision", f"?{m}"),
        "quality": ("/quality", f"?{m}"),
        "sql": ("/sql", ""),
        "closes": ("/closes", f"?{m}"),
    }


def client_for(app):
    """A Flask test client for `app` that has loaded the app shell (as a browser does first)."""
    client = app.server.test_client()
    r = client.get("/")
    if r.status_code != 200:
        raise SystemExit(f"GET / answered {r.status_code}")
    return client
