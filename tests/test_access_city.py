"""A county user's view of every page, download, report, SQL result and API answer on the generated city,
checked against the data (the shared `built_city`; slow)."""

from __future__ import annotations

import base64
import io
import re

import duckdb
import openpyxl
import pytest
from access_helpers import dash_call, ensure_user, login, page_json

from medcom.access.scope import Scope, members
from medcom.access.snapshots import BY_BATCH, ORG_COLUMNS, SKIP_SCHEMAS, WHOLE

pytestmark = pytest.mark.slow

PAGES = ["/", "/kpi", "/fund", "/supervision", "/quality", "/sql"]


@pytest.fixture(scope="module")
def city(built_city, city_con):
    """The full snapshot, one county with communities, its members and the other counties' codes and names."""
    snap = built_city / "published" / (built_city / "published" / "CURRENT").read_text().strip()
    con = city_con  # the readers' settings: the server in this process opens the same file
    orgs = con.execute("SELECT * FROM marts.dim_org").df()
    orgs["org_id"] = orgs.org_id.astype(str)
    county = con.execute(
        "SELECT min(parent_id) FROM marts.dim_org WHERE org_level = 'community' AND parent_level = 'county'"
    ).fetchone()[0]
    mine = members(orgs.astype(object).where(orgs.notna(), None).to_dict("records"), Scope("county", county))
    counties = orgs[orgs.org_level == "county"]
    others = {r.org_id: r["name"] for _, r in counties.iterrows() if r.org_id != county}
    city_row = orgs[orgs.org_level == "city"].iloc[0]
    yield dict(
        snap=snap,
        con=con,
        county=county,
        members=mine,
        others=others,
        city=(city_row.org_id, city_row["name"]),
        name=counties.set_index("org_id").name[county],
        counties=list(counties.org_id),
    )
    con.close()


def _expected_where(columns: list[str], mine: set) -> str:
    """The spec's rule written out for one table: a row concerns the county when an org column names one of
    its orgs (insured there, at a facility there, …)."""
    by_level: dict = {}
    for level, oid in mine:
        by_level.setdefault(level, set()).add(oid)
    tests = []
    for c in columns:
        if c in ORG_COLUMNS:
            ids = set().union(*by_level.values()) if ORG_COLUMNS[c] is None else by_level.get(ORG_COLUMNS[c], set())
            lst = ", ".join("'" + i.replace("'", "''") + "'" for i in sorted(ids)) or "NULL"
            tests.append(f'CAST("{c}" AS VARCHAR) IN ({lst})')
    return " OR ".join(tests)


def test_county_snapshots_hold_only_the_county(city, built_city, monkeypatch):
    from medcom.access.snapshots import scoped_snapshot

    monkeypatch.setenv("MEDCOM_HOME", str(built_city))
    path = scoped_snapshot(Scope("county", city["county"]))  # no county user at the build: made on first use
    assert path.parent.parent.parent == city["snap"].parent  # beside the full snapshot
    scoped = duckdb.connect(str(path), read_only=True)
    try:
        _check_scoped(scoped, city)
    finally:
        scoped.close()


def _check_scoped(scoped, city):
    full, mine = city["con"], city["members"]
    tables = scoped.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    assert ("marts", "fct_encounters") in tables and ("marts", "kpi_values") in tables
    checked = 0
    for schema, table in tables:
        cols = [r[0] for r in scoped.execute(f'DESCRIBE "{schema}"."{table}"').fetchall()]
        name = f'"{schema}"."{table}"'
        if {"org_level", "org_id"} <= set(cols):
            pairs = scoped.execute(
                f"SELECT DISTINCT org_level, CAST(org_id AS VARCHAR) FROM {name} WHERE org_id IS NOT NULL"
            ).fetchall()
            assert set(pairs) <= mine, (name, set(pairs) - mine)
            checked += 1
        elif any(c in ORG_COLUMNS for c in cols):
            where = _expected_where(cols, mine)
            want = full.execute(f"SELECT count(*) FROM {name} WHERE {where}").fetchone()[0]
            got = scoped.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            assert (
                got == want and scoped.execute(f"SELECT count(*) FROM {name} WHERE NOT ({where})").fetchone()[0] == 0
            ), name
            checked += 1
        elif (schema, table) in WHOLE:
            assert (
                full.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                == (scoped.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            ), name
        elif (schema, table) in BY_BATCH or (schema, table) in {("audit", "quarantine"), ("audit", "replacements")}:
            if "batch_id" in cols:  # only the scope's batches (their coverage names the county or a community)
                extra = scoped.execute(
                    f"SELECT count(*) FROM {name} WHERE batch_id NOT IN (SELECT batch_id FROM audit.ingest_batches)"
                ).fetchone()[0]
                assert extra == 0, name
        else:
            raise AssertionError(f"{name} is in the scoped copy but no scope rule covers it")
    assert checked >= 14  # dim_org, kpi_values, kpi_cell_quality, batch_coverage, every marts.fct_* table
    for t in ("audit.batch_coverage", "audit.dq_findings", "audit.dq_results", "marts.kpi_cell_quality"):
        assert (*t.split("."),) in tables, t  # the quality tables reach the county user, scoped
    assert ("closed", "kpi_values") in tables and ("closed", "batches") in tables and ("closed", "closes") in tables
    # a table the scoper has no rule for is left out (fail closed), never copied whole
    left_out = {
        (s, t)
        for s, t in full.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        if s not in SKIP_SCHEMAS and (s, t) not in tables
    }
    # the lake's file list and the incremental build's bookkeeping: no reader needs them
    internal = {("audit", t) for t in ("lake_files", "build_state", "build_batches", "build_pending")}
    assert left_out <= internal, left_out
    # no text of the audit and closed tables, nor a KPI cell's quality note, names an org outside the scope
    # (a city-wide file's warnings, expectation results and coverage are cut to the county's parts)
    outside = {r[0] for r in full.execute("SELECT CAST(org_id AS VARCHAR) FROM marts.dim_org").fetchall()} - {
        o for _, o in mine
    }
    for schema, table in tables:
        if schema not in ("audit", "closed") and (schema, table) != ("marts", "kpi_cell_quality"):
            continue
        for col, typ, *_ in scoped.execute(f'DESCRIBE "{schema}"."{table}"').fetchall():
            if typ != "VARCHAR":
                continue
            for (text,) in scoped.execute(
                f'SELECT DISTINCT "{col}" FROM "{schema}"."{table}" WHERE "{col}" IS NOT NULL'
            ).fetchall():
                hits = set(re.findall(r"[A-Za-z0-9_]+", text)) & outside
                assert not hits, (schema, table, col, text[:200], hits)
    # a city-wide batch's rows are the county's rows of it
    for batch_id, loaded in scoped.execute("SELECT batch_id, rows_loaded FROM audit.ingest_batches").fetchall():
        cov = scoped.execute(
            "SELECT sum(rows_loaded) FROM audit.batch_coverage WHERE batch_id = ?", [batch_id]
        ).fetchone()[0]
        assert cov is None or cov == loaded, batch_id
    # nothing of the other counties or the city in the org tables and KPI rows
    for t in ("marts.dim_org", "marts.kpi_values"):
        ids = {r[0] for r in scoped.execute(f"SELECT DISTINCT CAST(org_id AS VARCHAR) FROM {t}").fetchall()}
        assert city["county"] in ids and city["city"][0] not in ids and not ids & set(city["others"])
    n_enc = scoped.execute("SELECT count(*) FROM marts.fct_encounters").fetchone()[0]
    assert 0 < n_enc < full.execute("SELECT count(*) FROM marts.fct_encounters").fetchone()[0]
    keys = [o for lvl, o in mine if lvl in ("county", "community")]
    for cov, fname in scoped.execute("SELECT coverage, file_name FROM audit.ingest_batches").fetchall():
        assert any(k in f"{cov} {fname}" for k in keys)


def _foreign(text: str, city) -> list[str]:
    """Other counties' (and the city's) codes and names found in `text`."""
    hits = [n for n in [*city["others"].values(), city["city"][1]] if n in text]
    hits += [c for c in [*city["others"], city["city"][0]] if re.search(rf"(?<![\d.]){c}(?!\d)", text)]
    return hits


def test_county_user_sees_only_the_county_everywhere(city, built_city, monkeypatch):
    monkeypatch.setenv("MEDCOM_HOME", str(built_city))
    from dashboards.app import create_app

    client = create_app().server.test_client()
    login(client, "city-county", ensure_user(built_city, "city-county", "county", city["county"]))
    mine_ids = {o for _, o in city["members"]}
    for path in PAGES:
        text = page_json(client, path)
        assert "page-error" not in text and not _foreign(text, city), (path, _foreign(text, city))
    assert city["name"] in page_json(client, "/")
    other = next(iter(city["others"]))
    text = page_json(client, "/", f"?level=county&org={other}")  # another county's URL
    assert "out-of-scope" in text and not _foreign(text, city)
    text = page_json(client, "/kpi", f"?code=in_county_visit_rate&level=county&org={other}&dl=county")
    assert "out-of-scope" in text and not _foreign(text, city)
    # the scorecard XLSX
    r = dash_call(
        client, [("sc-download", "data")], [("sc-export", "n_clicks", 1)], [("_pages_location", "search", "")]
    )
    payload = r.get_json()["response"]["sc-download"]["data"]
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(payload["content"])))
    cells = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    assert city["name"] in cells and not _foreign(cells, city)
    # the printable report
    body = client.get("/report?pt=ytd").get_data(as_text=True)
    assert city["name"] in body and not _foreign(body, city)
    # the SQL page, its CSV download and the API: only the county's rows exist
    sql = "SELECT DISTINCT org_level, CAST(org_id AS VARCHAR) AS org_id FROM marts.kpi_values"
    r = client.post("/api/sql", json={"query": sql})
    assert r.status_code == 200 and {tuple(x) for x in r.get_json()["rows"]} <= city["members"]
    cols = [r[0] for r in city["con"].execute("DESCRIBE marts.fct_encounters").fetchall()]
    want = (
        city["con"]
        .execute(f"SELECT count(*) FROM marts.fct_encounters WHERE {_expected_where(cols, city['members'])}")
        .fetchone()[0]
    )
    r = client.post("/api/sql", json={"query": "SELECT count(*) AS n FROM marts.fct_encounters"})
    assert r.get_json()["rows"] == [[want]]
    out = dash_call(
        client,
        [("sql-results", "children"), ("sql-status", "children")],
        [("sql-run", "n_clicks", 1)],
        [("sql-text", "value", "SELECT DISTINCT org_id FROM marts.dim_org"), ("_pages_location", "search", "")],
    )
    grid_rows = out.get_json()["response"]["sql-results"]["children"]["props"]["rowData"]
    assert grid_rows and {r["org_id"] for r in grid_rows} <= mine_ids
    r = dash_call(
        client,
        [("sql-download", "data")],
        [("sql-csv", "n_clicks", 1), ("sql-xlsx", "n_clicks", None)],
        [("sql-text", "value", "SELECT DISTINCT insured_county_code, facility_id FROM marts.fct_encounters")],
    )
    csv_text = base64.b64decode(r.get_json()["response"]["sql-download"]["data"]["content"]).decode("utf-8-sig")
    for line in csv_text.splitlines()[1:]:
        insured, facility = line.split(",")
        assert insured in mine_ids or facility in mine_ids, line
    client.get("/logout")
    # an analyst sees the whole city
    login(client, "city-analyst", ensure_user(built_city, "city-analyst", "analyst"))
    text = page_json(client, "/")
    assert city["city"][1] in text and all(n in text for n in city["others"].values())
    r = client.post(
        "/api/sql", json={"query": "SELECT count(DISTINCT org_id) FROM marts.dim_org WHERE org_level = 'county'"}
    )
    assert r.get_json()["rows"] == [[len(city["counties"])]]
