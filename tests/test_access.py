"""Users, sign-in, roles, the API and the access log — the real CLI and the real Flask routes, on the
contract fixture snapshot (fast). The generated-city checks are in test_access_city.py."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import duckdb
import pytest
from access_helpers import PASSWORD, dash_call, ensure_user, login, page_json
from dashboard_fixture import build_snapshot
from medcom_cli import run_medcom

from dashboards.app import create_app
from medcom.access import users
from medcom.access.scope import Scope

pytest_plugins = ("dashboard_fixture",)

PAGES = ["/", "/kpi", "/fund", "/supervision", "/quality", "/sql", "/access"]


@pytest.fixture
def app(dash_home):
    return create_app()


@pytest.fixture
def client(app):
    return app.server.test_client()


def _token(home, name) -> str:
    proc = run_medcom("users", "token", name, home=home, check=True)
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("mc_")  # the token alone
    return proc.stdout.strip()


def test_users_command_line(tmp_path):
    home = tmp_path / "home"
    build_snapshot(home)
    add = run_medcom(
        "users", "add", "ann", "--role", "admin", "--password-stdin", home=home, input_text="s3cret-pass\n"
    )
    assert add.returncode == 0, add.stderr
    ensure_user(home, "xc", "county", "411025")
    store = home / "access" / "users.json"
    before = store.read_bytes()
    # bad input: one plain line, exit 2, nothing written
    for args, stdin, says in (
        (["add", "bob", "--role", "wizard"], "s3cret-pass\n", "unknown role"),
        (["add", "bob", "--role", "county"], "s3cret-pass\n", "needs --county"),
        (["add", "bob", "--role", "county", "--county", "999999"], "s3cret-pass\n", "not a county of the warehouse"),
        (["add", "ann", "--role", "analyst"], "s3cret-pass\n", "already exists"),
        (["add", "bob", "--role", "analyst"], "\n", "password is empty"),
        (["passwd", "nobody", "--password-stdin"], "s3cret-pass\n", "no user named"),
        (["log", "--since", "yesterday"], "", "YYYY-MM-DD"),
    ):
        extra = ["--password-stdin"] if args[0] == "add" else []
        proc = run_medcom("users", *args, *extra, home=home, input_text=stdin)
        assert proc.returncode == 2, (args, proc.stderr)
        assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert store.read_bytes() == before
    listed = run_medcom("users", "list", home=home, check=True).stdout
    assert "ann" in listed and "county:411025" in listed
    tok = _token(home, "xc")
    raw = store.read_text()
    assert "s3cret-pass" not in raw and PASSWORD not in raw and tok.split(".", 1)[1] not in raw
    assert all(u.password_hash.startswith("$argon2id$") for u in users_in(home))
    assert (store.stat().st_mode & 0o777) == 0o600
    run_medcom("users", "disable", "xc", home=home, check=True)
    assert "disabled" in run_medcom("users", "list", home=home, check=True).stdout
    run_medcom("users", "enable", "xc", home=home, check=True)


def users_in(home):
    return [users.User(**v) for v in json.loads((home / "access" / "users.json").read_text()).values()]


def test_anonymous_refused_everywhere(app, client):
    """Every route but /login, /healthz and static assets; every Dash callback; the API."""
    from dashboards.auth import DOWNLOADS

    open_ = {"/login", "/healthz", "/_favicon.ico", "/favicon.ico"}  # and static assets
    checked = 0
    for rule in app.server.url_map.iter_rules():
        path = rule.rule
        if path in open_ or path.startswith(("/assets", "/_dash-component-suites", "/static")) or "<" in path:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(path, method=method)
            page = method == "GET" and not path.startswith(("/_", "/api")) and path not in DOWNLOADS
            want = (302,) if page else (401,)  # pages go to the sign-in form; callbacks, files, the API: 401
            assert r.status_code in want, (method, path, r.status_code)
            if r.status_code == 302:
                assert r.headers["Location"].startswith("/login?next=")
            checked += 1
    for path in PAGES + ["/report", "/kpi?code=x"]:
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert DOWNLOADS and all(client.get(f"{d}?month=2021-01").status_code == 401 for d in DOWNLOADS)
    for output, cb in app.callback_map.items():  # every callback the app has (page callbacks included)
        body = {"output": output, "inputs": [dict(i, value=1) for i in cb["inputs"]], "state": []}
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 401, output
    assert len(app.callback_map) >= 5 and checked >= 5
    r = client.post("/api/sql", json={"query": "SELECT 1"})
    assert r.status_code == 401 and "error" in r.get_json()
    r = client.post("/api/sql", json={"query": "SELECT 1"}, headers={"Authorization": "Bearer mc_nope.nope"})
    assert r.status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/assets/style.css").status_code == 200
    login_page = client.get("/login?lang=en").get_data(as_text=True)
    assert 'name="csrf_token"' in login_page and 'autocomplete="current-password"' in login_page
    assert "Sign in" in login_page and "登录" in client.get("/login").get_data(as_text=True)


def test_sign_in_csrf_lockout_and_expiry(dash_home, app, client):
    ensure_user(dash_home, "lock-me", "analyst")
    r = client.post("/login", data={"username": "lock-me", "password": PASSWORD})  # no CSRF token
    assert r.status_code == 400
    assert login(client, "lock-me", "wrong-password").status_code == 401
    for _ in range(3):
        assert login(client, "lock-me", "wrong-password").status_code == 401
    r = login(client, "lock-me", "wrong-password")  # the 5th failure within 15 minutes
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 800
    r = login(client, "lock-me", PASSWORD)  # even the right password, for 15 minutes
    assert r.status_code == 429
    assert "锁定" in r.get_data(as_text=True)
    with pytest.raises(users.LockedOut):
        users.authenticate("lock-me", PASSWORD, now=time.time() + 14 * 60)
    assert users.authenticate("lock-me", PASSWORD, now=time.time() + 15 * 60 + 5) is not None
    # a good sign-in: HttpOnly, SameSite cookie; 8 hours of inactivity by default
    r = login(client, "lock-me", PASSWORD, nxt="//evil.example/x")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.server.permanent_session_lifetime == timedelta(hours=8)
    assert client.get("/").status_code == 200
    # expiry after inactivity: the signed cookie is refused once older than the lifetime
    app.server.permanent_session_lifetime = timedelta(seconds=1)
    try:
        time.sleep(2.2)
        assert client.get("/").status_code == 302
    finally:
        app.server.permanent_session_lifetime = timedelta(hours=8)
    client.get("/logout")
    # a password change ends open sessions
    login(client, "lock-me", PASSWORD)
    assert client.get("/").status_code == 200
    run_medcom(
        "users", "passwd", "lock-me", "--password-stdin", home=dash_home, input_text="another-pass-9\n", check=True
    )
    assert client.get("/").status_code == 302
    # sign-out
    login(client, "lock-me", "another-pass-9")
    assert client.get("/logout").status_code == 302 and client.get("/").status_code == 302


def test_token_revoked_by_disable(dash_home, client):
    ensure_user(dash_home, "api-user", "analyst")
    tok = _token(dash_home, "api-user")
    q = {"query": "SELECT org_id FROM marts.dim_org WHERE org_level = 'county' ORDER BY 1", "max_rows": 2}
    r = client.post("/api/sql", json=q, headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200
    assert r.get_json() == {"columns": ["org_id"], "rows": [["411025"], ["411081"]], "truncated": True}
    run_medcom("users", "disable", "api-user", home=dash_home, check=True)
    assert client.post("/api/sql", json=q, headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    assert login(client, "api-user").status_code == 401
    run_medcom("users", "enable", "api-user", home=dash_home, check=True)
    assert client.post("/api/sql", json=q, headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    new = _token(dash_home, "api-user")  # a new token revokes the old one
    assert client.post("/api/sql", json=q, headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    assert client.post("/api/sql", json=q, headers={"Authorization": f"Bearer {new}"}).status_code == 200
    bad = client.post(
        "/api/sql", json={"query": "DROP TABLE marts.dim_org"}, headers={"Authorization": f"Bearer {new}"}
    )
    assert bad.status_code == 400 and "not allowed" in bad.get_json()["error"]
    assert client.post("/api/sql", data="x", headers={"Authorization": f"Bearer {new}"}).status_code == 400


@pytest.mark.parametrize("role", ["admin", "analyst", "county", "steward"])
def test_sandbox_bar_holds_for_every_role(dash_home, client, role):
    """No file access, read-only, row limits — whatever the role (SQL page callback and API)."""
    name = f"bar-{role}"
    ensure_user(dash_home, name, role, "411025" if role == "county" else None)
    login(client, name)
    snap = next((dash_home / "published").glob("warehouse-*.duckdb"))
    attempts = [
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM read_parquet('{snap}')",
        "DELETE FROM marts.kpi_values",
        "CREATE TABLE x AS SELECT 1",
        f"ATTACH '{snap}' AS full_copy",
        "COPY (SELECT 1) TO '/tmp/medcom-x.csv'",
        "SET enable_external_access = true",
    ]
    for sql in attempts:
        r = client.post("/api/sql", json={"query": sql})
        if role == "steward":
            assert r.status_code == 403
            continue
        assert r.status_code == 400, (role, sql, r.get_json())
        out = dash_call(
            client,
            [("sql-results", "children"), ("sql-status", "children")],
            [("sql-run", "n_clicks", 1)],
            [("sql-text", "value", sql), ("_pages_location", "search", "")],
        )
        assert "sql-error" in out.get_data(as_text=True)
    if role != "steward":
        r = client.post("/api/sql", json={"query": "SELECT * FROM range(50)", "max_rows": 7})
        assert r.status_code == 200 and len(r.get_json()["rows"]) == 7 and r.get_json()["truncated"] is True


def test_roles_see_their_pages(dash_home, client):
    ensure_user(dash_home, "steward-1", "steward", "411025")
    login(client, "steward-1")
    for path in PAGES:
        text = page_json(client, path)
        assert ("not-permitted" in text) == (path != "/quality"), path
    assert "batches-grid" in page_json(client, "/quality")
    assert "禹州市" not in page_json(client, "/quality")  # within its county
    assert client.get("/report").status_code == 403
    export = dash_call(
        client, [("sc-download", "data")], [("sc-export", "n_clicks", 1)], [("_pages_location", "search", "")]
    )
    assert export.status_code == 204 or "content" not in export.get_data(as_text=True)
    header = dash_call(
        client,
        [("header", "children")],
        [("_pages_location", "pathname", "/quality"), ("_pages_location", "search", "")],
    )
    htxt = json.dumps(header.get_json(), ensure_ascii=False)
    assert "steward-1" in htxt and "襄城县" in htxt and "nav-quality" in htxt and "nav-scorecard" not in htxt
    client.get("/logout")
    ensure_user(dash_home, "analyst-1", "analyst")
    login(client, "analyst-1")
    assert "not-permitted" in page_json(client, "/access")
    assert "许昌市" in page_json(client, "/")
    client.get("/logout")
    ensure_user(dash_home, "admin-1", "admin")
    login(client, "admin-1")
    text = page_json(client, "/access")
    assert "access-grid" in text and "steward-1" in text and "analyst-1" in text


def test_county_user_added_after_the_build_queries_at_once(dash_home, client):
    """The fixture snapshot was published without scoped copies: the county's is made on first use."""
    ensure_user(dash_home, "late-county", "county", "411081")
    login(client, "late-county")
    r = client.post("/api/sql", json={"query": "SELECT DISTINCT org_level, org_id FROM marts.dim_org ORDER BY 1, 2"})
    assert r.status_code == 200
    ids = {tuple(x) for x in r.get_json()["rows"]}
    assert ("county", "411081") in ids and not any(o in ("411000", "411025", "411082") for _, o in ids)
    assert all(o.startswith(("411081", "C411081", "F411081")) for _, o in ids)
    r = client.post("/api/sql", json={"query": "SELECT DISTINCT org_id FROM marts.kpi_values"})
    assert {x[0] for x in r.get_json()["rows"]} <= {o for _, o in ids}


def test_access_log_holds_each_event(dash_home, client):
    ensure_user(dash_home, "logged", "county", "411025")
    client.post("/login", data={"username": "logged", "password": "nope", "csrf_token": "x"})  # bad CSRF: not a sign-in
    login(client, "logged", "wrong-password")
    login(client, "logged")
    page_json(client, "/kpi", "?code=in_county_visit_rate")
    dash_call(
        client,
        [("sql-results", "children"), ("sql-status", "children")],
        [("sql-run", "n_clicks", 1)],
        [("sql-text", "value", "SELECT 42 AS logged_sql"), ("_pages_location", "search", "")],
    )
    dash_call(
        client,
        [("sql-download", "data")],
        [("sql-csv", "n_clicks", 1), ("sql-xlsx", "n_clicks", None)],
        [("sql-text", "value", "SELECT 1 AS dl")],
    )
    dash_call(
        client,
        [("sc-download", "data")],
        [("sc-export", "n_clicks", 1)],
        [("_pages_location", "search", "?month=2021-06")],
    )
    client.get("/report?month=2021-06")
    client.post("/api/sql", json={"query": "SELECT 7 AS api_probe"})
    client.get("/logout")
    out = run_medcom("users", "log", "--user", "logged", home=dash_home, check=True).stdout
    events = [line.split()[4] for line in out.splitlines()]
    assert all(
        line.split()[1:4] == ["logged", "county", "county:411025"]
        for line in out.splitlines()
        if " login_failed " not in line
    )
    for ev in ("login_failed", "login", "page", "sql", "sql_download", "export_xlsx", "report", "api_sql", "logout"):
        assert ev in events, (ev, out)
    assert (
        "SELECT 42 AS logged_sql" in out
        and "api_probe" in out
        and "code" in out
        and "county:411025" not in out.split()[2]
    )
    assert (
        run_medcom("users", "log", "--user", "logged", "--since", "2999-01-01", home=dash_home, check=True).stdout == ""
    )
    # append-only, outside the warehouse and every snapshot
    log_file = dash_home / "access" / "log.jsonl"
    assert all(json.loads(x)["ts"] for x in log_file.read_text().splitlines())
    assert "published" not in str(log_file)


def test_scoped_snapshot_fails_closed(tmp_path):
    """A table that cannot be scoped is left out; a kpi_values-shaped table (closed.kpi_values) is scoped."""
    from medcom.access.snapshots import build_scoped

    home = tmp_path / "home"
    src = build_snapshot(home)
    con = duckdb.connect(str(src))
    con.execute("CREATE TABLE marts.mystery AS SELECT 'secret' AS a")
    con.execute("CREATE SCHEMA closed")
    con.execute(
        "CREATE TABLE closed.kpi_values AS SELECT *, DATE '2021-06-01' AS closed_month, 1 AS revision, "
        "now() AS closed_at, 'x' AS note FROM marts.kpi_values"
    )
    con.close()
    out = build_scoped(src, tmp_path / "county" / "warehouse.duckdb", Scope("county", "411025"))
    c = duckdb.connect(str(out), read_only=True)
    tables = {
        f"{s}.{t}" for s, t in c.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    assert "marts.mystery" not in tables and {"closed.kpi_values", "marts.kpi_values", "marts.dim_kpi"} <= tables
    orgs = {o for (o,) in c.execute("SELECT DISTINCT org_id FROM closed.kpi_values").fetchall()}
    assert "411025" in orgs and not orgs & {"411000", "411081", "411082", "C411081A"}
    assert all("411025" in o for o in orgs)


def test_publish_writes_the_scoped_users_snapshots(tmp_path, monkeypatch):
    """`warehouse.publish` (every build and ingest) writes a copy per scoped user beside the full snapshot."""
    import shutil

    import warehouse

    home = tmp_path / "home"
    src = build_snapshot(home)
    ensure_user(home, "pub-county", "county", "411082")
    ensure_user(home, "pub-admin", "admin")
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    shutil.copyfile(src, home / "warehouse.duckdb")  # as ingest/build leave the writer file
    with warehouse.writer_lock():
        target = warehouse.publish()
    scopes = sorted(p.name for p in (target.parent / "scopes").iterdir())
    assert scopes == ["county-411082"]
    con = duckdb.connect(str(target.parent / "scopes" / "county-411082" / "warehouse.duckdb"), read_only=True)
    assert {
        r[0] for r in con.execute("SELECT DISTINCT org_id FROM marts.kpi_values WHERE org_level = 'county'").fetchall()
    } == {"411082"}
    con.close()


def test_demo_users(tmp_path, monkeypatch, capsys):
    """`medcom demo` / `make demo`: an admin and a county user whose printed passwords sign in."""
    from medcom.access.demo import ensure_demo_users, print_demo_users

    build_snapshot(tmp_path / "home")
    monkeypatch.setenv("MEDCOM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDCOM_DEMO_PASSWORD", "demo-password-1")
    rows = ensure_demo_users()
    assert [(r[1], r[2]) for r in rows] == [("admin", "all"), ("county", "county:411025")]
    assert all(users.authenticate(name, "demo-password-1") for name, *_ in rows)
    monkeypatch.delenv("MEDCOM_DEMO_PASSWORD")
    again = ensure_demo_users()  # a second demo run: new random passwords, printed and valid
    print_demo_users(again)
    out = capsys.readouterr().out
    for name, _, _, password in again:
        assert password in out and users.authenticate(name, password)
