"""A city analyst of a province warehouse (`medcom users add --role analyst --city`): one scope rule at the
city level — pages, the SQL API and the bulletin hold that city and its counties only (the shared
`built_province`; slow)."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from access_helpers import ensure_user, login, page_json
from medcom_cli import run_medcom

pytestmark = pytest.mark.slow
CITY, OTHER = "411000", "411100"


@pytest.fixture(scope="module")
def orgs(built_province):
    snap = built_province / "published" / (built_province / "published" / "CURRENT").read_text().strip()
    snap = snap / "warehouse.duckdb" if snap.is_dir() else snap
    with duckdb.connect(str(snap), read_only=True) as con:
        rows = con.execute("SELECT org_level, CAST(org_id AS VARCHAR), name, parent_id FROM marts.dim_org").fetchall()
    return rows


def test_city_analyst_sees_only_the_city(built_province, orgs, monkeypatch, tmp_path):
    names = {(lv, oid): name for lv, oid, name, _ in orgs}
    counties = {oid: str(parent) for lv, oid, _, parent in orgs if lv == "county"}
    mine = {c for c, p in counties.items() if p == CITY}
    theirs = {c for c, p in counties.items() if p == OTHER}
    assert mine and theirs
    # --city is for analysts, and must be a city of the warehouse
    bad = run_medcom(
        "users", "add", "x-steward", "--role", "steward", "--city", CITY, "--password-stdin", home=built_province,
        input_text="pw-123456\n",
    )  # fmt: skip
    assert bad.returncode == 2 and "--city is for analysts" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_medcom(
        "users", "add", "x-analyst", "--role", "analyst", "--city", "999999", "--password-stdin", home=built_province,
        input_text="pw-123456\n",
    )  # fmt: skip
    assert bad.returncode == 2 and "999999 is not a city of the warehouse" in bad.stderr

    monkeypatch.setenv("MEDCOM_HOME", str(built_province))
    monkeypatch.setenv("MEDCOM_SECRET", "test-secret")
    from dashboards.app import create_app

    pw = "city-analyst-pw"
    args = ["users", "add", "city-analyst", "--role", "analyst", "--city", CITY, "--password-stdin"]
    add = run_medcom(*args, home=built_province, input_text=pw + "\n")
    if add.returncode != 0:
        ensure_user(built_province, "city-analyst", "analyst", password=pw)  # pragma: no cover - a re-run
    client = create_app().server.test_client()
    login(client, "city-analyst", pw)
    # the SQL API runs on the city's snapshot: its counties, none of the other city's
    r = client.post("/api/sql", json={"query": "SELECT org_level, CAST(org_id AS VARCHAR) FROM marts.dim_org"})
    assert r.status_code == 200, r.get_data(as_text=True)
    got = {tuple(x) for x in r.get_json()["rows"]}
    assert {o for lv, o in got if lv == "county"} == mine
    assert ("city", CITY) in got and ("city", OTHER) not in got and not [o for lv, o in got if lv == "province"]
    r = client.post("/api/sql", json={"query": "SELECT DISTINCT org_level, org_id FROM marts.kpi_values"})
    kpi_orgs = {tuple(x) for x in r.get_json()["rows"]}
    assert kpi_orgs and not {o for _, o in kpi_orgs} & (theirs | {OTHER, "410000"})
    # the scorecard: the city is the root, the other city's names nowhere
    text = page_json(client, "/")
    assert names[("city", CITY)] in text
    assert not [n for (lv, o), n in names.items() if ((lv == "county" and o in theirs) or o == OTHER) and n in text]
    text = page_json(client, "/", f"?level=county&org={next(iter(theirs))}")
    assert "out-of-scope" in text
    # the bulletin: the city's, with its counties; another city's county refused
    r = client.get("/bulletin.pdf?lang=zh")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.data[:200]
    import pypdf

    path = tmp_path / "city.pdf"
    path.write_bytes(r.data)
    body = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in pypdf.PdfReader(str(path)).pages))
    assert names[("city", CITY)] in body and all(names[("county", c)] in body for c in mine)
    assert not [c for c in theirs if names[("county", c)] in body] and names[("city", OTHER)] not in body
    assert client.get(f"/bulletin.pdf?county={next(iter(theirs))}").status_code == 403
    assert client.get(f"/bulletin.pdf?county={next(iter(mine))}").status_code == 200
    log = (built_province / "access" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    assert any(json.loads(x).get("scope") == f"city:{CITY}" for x in log)
