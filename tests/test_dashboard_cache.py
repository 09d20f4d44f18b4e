"""The dashboard's snapshot cache (dashboards.queries.cache), through the real Dash app on real DuckDB
snapshots: a cached answer is exactly the uncached one, is never served to another scope, and a new
snapshot is read on the next request."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from dashboards.app import create_app
from dashboards.queries import Queries, Scope, cache

pytest_plugins = ("dashboard_fixture",)

COUNTY_A, COUNTY_B = "411025", "411081"  # 襄城县, 禹州市 in tests/dashboard_fixture.py


def _view(client, path: str, search: str = "") -> str:
    """The page body a browser gets for a URL: the Dash Pages router callback, POSTed as the browser does."""
    body = {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    text = json.dumps(r.get_json()["response"]["_pages_content"]["children"], ensure_ascii=False)
    assert "page-error" not in text and "no-warehouse" not in text
    return text


def _has_sign_in(app) -> bool:
    return any(r.rule == "/login" for r in app.server.url_map.iter_rules())


class Viewers:
    """Test clients of the real app, one per scope: signed in through /login as a user of that scope when
    the app has sign-in (issue 7), else one client whose scope is the instance alias
    MEDCOM_DASHBOARD_COUNTY."""

    def __init__(self, home, monkeypatch):
        self.app = create_app()
        self.home, self.mp = home, monkeypatch
        self.sign_in = _has_sign_in(self.app)
        self.clients: dict = {}

    def client(self, county: str | None):
        key = county if self.sign_in else None
        if key not in self.clients:
            c = self.app.server.test_client()
            if self.sign_in:
                from medcom.access import users

                name, password = f"cache-{county or 'all'}", "cache-test-password-7"
                if users.get(name) is None:
                    users.add(name, "county" if county else "admin", password, county=county)
                page = c.get("/login").get_data(as_text=True)
                token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                r = c.post("/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"})
                assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]
            assert c.get("/").status_code == 200
            self.clients[key] = c
        if not self.sign_in:
            if county:
                self.mp.setenv("MEDCOM_DASHBOARD_COUNTY", county)
            else:
                self.mp.delenv("MEDCOM_DASHBOARD_COUNTY", raising=False)
        return self.clients[key]

    def view(self, county: str | None, path: str, search: str = "") -> str:
        return _view(self.client(county), path, search)

    def uncached(self, county: str | None, path: str, search: str = "") -> str:
        self.mp.setenv("MEDCOM_DASHBOARD_CACHE", "0")
        try:
            return self.view(county, path, search)
        finally:
            self.mp.delenv("MEDCOM_DASHBOARD_CACHE")


@pytest.fixture
def viewers(dash_home, monkeypatch):
    monkeypatch.delenv("MEDCOM_DASHBOARD_CACHE", raising=False)
    cache.clear()
    yield Viewers(dash_home, monkeypatch)
    cache.clear()


def test_a_cached_view_is_the_uncached_view(viewers):
    for path in ("/", "/kpi", "/fund", "/supervision", "/quality", "/sql", "/closes"):
        first = viewers.view(None, path, "?lang=en")
        hits = cache.views.hits
        again = viewers.view(None, path, "?lang=en")
        assert cache.views.hits == hits + 1, f"{path}: second view not served from the cache"
        assert again == first == viewers.uncached(None, path, "?lang=en")


def test_the_cache_never_crosses_scopes(viewers):
    """Whole warehouse, county A and county B ask for the same URLs, each after the others filled the
    cache: each gets exactly what an uncached request in its own scope gets, and never another's."""
    urls = [("/", ""), ("/", f"?level=county&org={COUNTY_B}"), ("/fund", ""), ("/quality", ""), ("/supervision", "")]
    seen: dict[tuple, str] = {}
    for who in (None, COUNTY_A, COUNTY_B, COUNTY_A, None):
        for path, search in urls:
            got = viewers.view(who, path, search)
            assert got == viewers.uncached(who, path, search), (who, path, search)
            seen.setdefault((who, path, search), got)
            assert got == seen[(who, path, search)]
    for path, search in urls:
        whole, a, b = (seen[(w, path, search)] for w in (None, COUNTY_A, COUNTY_B))
        assert whole != a and whole != b and a != b, (path, search)
    # county A's home scorecard shows its communities and none of county B's (or the city's columns)
    a_home = seen[(COUNTY_A, "/", "")]
    assert "C411025A" in a_home and "C411081A" not in a_home and f"drill-county-{COUNTY_B}" not in a_home
    # a county-A viewer asking for county B's scorecard gets county A's (the scope fence), not the
    # whole-warehouse viewer's cached page of county B
    a_asks_b = seen[(COUNTY_A, "/", f"?level=county&org={COUNTY_B}")]
    assert "C411025A" in a_asks_b and "C411081A" not in a_asks_b
    assert "C411081A" in seen[(None, "/", f"?level=county&org={COUNTY_B}")]
    scopes = {k[1] for k in cache.views.cached_keys()}
    assert scopes == {"all", f"county-{COUNTY_A}", f"county-{COUNTY_B}"}
    assert {k[1] for k in cache.results.cached_keys()} == scopes


def test_a_new_snapshot_is_read_on_the_next_request(tmp_path, monkeypatch):
    """Publish a different snapshot while the app serves: the next view shows it (no restart, no
    stale cache), equal to an uncached render of the new data; idle connections to the old one close."""
    from dashboard_fixture import build_snapshot

    home = tmp_path / "home"
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    monkeypatch.delenv("MEDCOM_DASHBOARD_COUNTY", raising=False)
    monkeypatch.delenv("MEDCOM_DASHBOARD_CACHE", raising=False)
    old = build_snapshot(home, seed=3)
    cache.clear()
    viewers = Viewers(home, monkeypatch)
    before = {p: viewers.view(None, p, "?lang=en") for p in ("/", "/fund", "/kpi")}
    assert str(old) in cache._keepers  # the snapshot is kept open between requests
    new = build_snapshot(home, seed=4)  # other values, new file, CURRENT repointed
    assert new != old
    for p, was in before.items():
        now = viewers.view(None, p, "?lang=en")
        assert now != was, f"{p} still shows the old snapshot"
        assert now == viewers.uncached(None, p, "?lang=en")
    assert str(old) not in cache._keepers and str(new) in cache._keepers
    with Queries() as q:
        assert q.cache_key[0].startswith(str(new) + ":")
    cache.clear()
    cache.close_kept()


def test_cache_off_stores_nothing(viewers, monkeypatch):
    monkeypatch.setenv("MEDCOM_DASHBOARD_CACHE", "0")
    viewers.view(None, "/", "")
    viewers.view(None, "/fund", "")
    assert len(cache.views) == 0 and len(cache.results) == 0
    with Queries(Scope()) as q:
        assert q.cache_key is None


def test_a_missing_key_is_computed_once_under_concurrency():
    store = cache.Store("t", 8)
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return "value"

    got = []
    threads = [threading.Thread(target=lambda: got.append(store.get(("k",), compute))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert got == ["value"] * 8 and len(calls) == 1
    with pytest.raises(ZeroDivisionError):  # a failure is not cached: the next request tries again
        store.get(("bad",), lambda: 1 / 0)
    assert store.get(("bad",), lambda: "ok") == "ok"


def test_cached_frames_are_private_copies(dash_home):
    cache.clear()
    with Queries() as q:
        q.orgs()["name"] = "changed by a caller"
    with Queries() as q:
        assert "changed by a caller" not in set(q.orgs().name)
