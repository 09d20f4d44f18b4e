"""The dashboard views the benchmarks render, and the requests a browser sends for one view.

A page view in the browser is two callback POSTs to `/_dash-update-component` once the app shell
is loaded: Dash Pages' router (`_pages_content.children`, the page body) and the top bar
(`header.children`), both with the URL's pathname and query string. `views(home)` names one
URL per view the issue lists (scorecard city / county / community, KPI detail, fund,
supervision, quality, SQL page — and the closes page), taking the orgs, KPI and month from the
published snapshot so nothing is tied to one city.
"""

from __future__ import annotations

import html
import re
import secrets

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


def has_sign_in(app) -> bool:
    return any(r.rule == "/login" for r in app.server.url_map.iter_rules())


def csrf_token(login_page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    if not m:
        raise SystemExit("no CSRF token on /login")
    return html.unescape(m.group(1))


def bench_user(scope: str = "") -> tuple[str, str]:
    """(name, password) of the benchmark's user in MEDCOM_HOME — `bench-all` (admin) or
    `bench-county-<code>` (county role) — created, or given a new random password, for this run
    (the way `medcom demo` makes its users)."""
    from medcom.access import users

    level, _, code = scope.partition(":")
    name = f"bench-{level}-{code}" if code else "bench-all"
    password = secrets.token_urlsafe(12)
    if users.get(name) is None:
        users.add(name, "county" if level == "county" else "admin", password, county=code or None)
    else:
        users.passwd(name, password)
    return name, password


def client_for(app, user: tuple[str, str] | None = None):
    """A Flask test client for `app`, signed in as `user` through /login (with its CSRF token) when
    the app has sign-in, that has loaded the app shell (as a browser does first)."""
    client = app.server.test_client()
    if user is not None:
        token = csrf_token(client.get("/login").get_data(as_text=True))
        r = client.post("/login", data={"username": user[0], "password": user[1], "csrf_token": token, "next": "/"})
        if r.status_code not in (302, 303):
            raise SystemExit(f"sign-in as {user[0]} answered {r.status_code}")
    r = client.get("/")
    if r.status_code != 200:
        raise SystemExit(f"GET / answered {r.status_code}")
    return client
