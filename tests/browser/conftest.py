"""Browser-test fixtures: the real `medcom serve` in a subprocess and headless Chromium via selenium.

Skipped (with the reason) when chromium / chromedriver are not installed (`make browser`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Screenshots go to docs/screenshots only when asked (MEDCOM_SCREENSHOTS=1, see `make screenshots`),
# so an ordinary test run leaves the working tree clean.
SHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("MEDCOM_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / f"medcom-screenshots-{os.getpid()}"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_home(request, tmp_path_factory) -> Path:
    """MEDCOM_HOME the server reads.

    - `MEDCOM_BROWSER_HOME=<path>`: an existing built home (e.g. the demo's `data/`);
    - `MEDCOM_BROWSER_CITY=generated`: the shared generated + ingested + built city (`built_city`);
    - otherwise the contract fixture snapshot (tests/dashboard_fixture.py), built in a second.
    The tests discover ids from the page, so they run on any of them.
    """
    if os.environ.get("MEDCOM_BROWSER_HOME"):
        return Path(os.environ["MEDCOM_BROWSER_HOME"]).resolve()
    if os.environ.get("MEDCOM_BROWSER_CITY") == "generated":
        return request.getfixturevalue("built_city")
    sys.path.insert(0, str(REPO / "tests"))
    from dashboard_fixture import build_snapshot

    home = tmp_path_factory.mktemp("browser") / "home"
    build_snapshot(home)
    return home


def first_county(home: Path) -> str:
    """The first county with a medical community in `home`'s published warehouse."""
    import duckdb

    snap = home / "published" / (home / "published" / "CURRENT").read_text(encoding="utf-8").strip()
    con = duckdb.connect(str(snap), read_only=True)
    try:
        return con.execute(
            "SELECT min(parent_id) FROM marts.dim_org WHERE org_level = 'community' AND parent_level = 'county'"
        ).fetchone()[0]
    finally:
        con.close()


def ensure_browser_users(home: Path) -> str:
    """An admin and a county user in `home` (the real `medcom users` command); returns the user's county."""
    sys.path.insert(0, str(REPO / "tests"))
    from access_helpers import ADMIN, COUNTY_USER, ensure_user

    county = first_county(home)
    ensure_user(home, ADMIN, "admin")
    ensure_user(home, COUNTY_USER, "county", county)
    return county


@contextlib.contextmanager
def serving(home: Path, log_dir: Path, cookie: str = "medcom_session"):
    """Run `medcom serve --port <free>` on `home`; yields the base URL; stops it afterwards."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (run `make browser`)")
    port = _free_port()
    env = dict(os.environ, MEDCOM_HOME=str(home), MEDCOM_SESSION_COOKIE=cookie)
    env.pop("MEDCOM_DASHBOARD_COUNTY", None)
    medcom = str(Path(sys.executable).parent / "medcom")
    log_path = log_dir / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [medcom, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("medcom serve did not start:\n" + log_path.read_text())
        time.sleep(0.3)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser_county(browser_home) -> str:
    """The county of the browser tests' county user (users created in the session's home)."""
    return ensure_browser_users(browser_home)


@pytest.fixture(scope="session")
def server(browser_home, browser_county, tmp_path_factory):
    """`medcom serve` on the session's warehouse (see `browser_home`), with an admin and a county user."""
    with serving(browser_home, tmp_path_factory.mktemp("serve")) as base:
        yield base


@pytest.fixture(scope="session")
def province_server(built_province, driver, tmp_path_factory):
    """`medcom serve` on the generated 2-city province (`built_province`), the driver signed in there as the
    admin (its own session cookie, so the session on `server` stays)."""
    from access_helpers import ADMIN, sign_in

    ensure_browser_users(built_province)
    with serving(built_province, tmp_path_factory.mktemp("serve-province"), cookie="medcom_province") as base:
        sign_in(driver, base, ADMIN)
        yield base


@pytest.fixture
def scratch_server(tmp_path):
    """A second `medcom serve` on a throw-away fixture warehouse that a test may republish."""
    sys.path.insert(0, str(REPO / "tests"))
    from dashboard_fixture import build_snapshot

    home = tmp_path / "home"
    build_snapshot(home)
    ensure_browser_users(home)
    with serving(home, tmp_path, cookie="medcom_scratch") as base:
        yield base, home


@pytest.fixture(scope="module")
def dq_server(dq_city, driver, tmp_path_factory):
    """`medcom serve` on the tiny city with an outlier batch (tests/dq_city.py), the driver signed in there
    as the admin (its own session cookie)."""
    from access_helpers import ADMIN, sign_in

    ensure_browser_users(dq_city)
    with serving(dq_city, tmp_path_factory.mktemp("dq-serve"), cookie="medcom_dq") as base:
        sign_in(driver, base, ADMIN)
        yield base


@pytest.fixture(scope="session")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(server, downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="medcom-chromium-")
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1440,1000",
        "--lang=zh-CN",
    ):
        opts.add_argument(a)
    opts.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(60)
    d.set_script_timeout(30)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    from access_helpers import ADMIN, sign_in

    sign_in(d, server, ADMIN)  # the other browser tests run as the admin
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
