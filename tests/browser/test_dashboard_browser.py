"""The dashboard in a real headless Chromium against `medcom serve` (marked `browser`)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser

WAIT = 30  # seconds for any one thing to appear


def _wait(driver, css, timeout=WAIT):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _wait_for(fn, timeout=WAIT, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _click(driver, css):
    el = _wait(driver, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    driver.execute_script("arguments[0].click();", el)


def _q(driver) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(driver.current_url).query).items()}


def _settle(driver):
    """Wait until Dash has no pending callbacks (loading states gone)."""
    _wait_for(
        lambda: driver.execute_script(
            "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"
        ),
        what="dash idle",
    )
    time.sleep(0.4)


def _text(driver, css) -> str:
    """Text of an element, "" while it is absent or being re-rendered."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return driver.find_element("css selector", css).text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _severe(driver) -> list:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _first_id(driver, prefix: str) -> str:
    el = _wait(driver, f"a[id^='{prefix}']")
    return el.get_attribute("id")[len(prefix) :]


def test_scorecard_drill_down_and_breadcrumbs(server, driver, shots):
    driver.get(server + "/")
    _wait(driver, "#scorecard-0")
    _settle(driver)
    month = _q(driver).get("month")
    heads = driver.find_elements("css selector", "#scorecard-0 thead th.org-head")
    assert "current" in heads[0].get_attribute("class")  # the city column comes first
    assert "市" in heads[0].text
    driver.save_screenshot(str(shots / "scorecard.png"))
    # city → county (the first county that has a medical community)
    start = driver.current_url
    counties = [
        e.get_attribute("id")[len("drill-county-") :]
        for e in driver.find_elements("css selector", "a[id^='drill-county-']")
    ]
    assert counties
    community = None
    for county in counties:
        if driver.current_url != start:
            driver.get(start)
            _wait(driver, f"#drill-county-{county}")
            _settle(driver)
        _click(driver, f"#drill-county-{county}")
        _wait_for(lambda c=county: _q(driver).get("org") == c, what="county URL")
        _wait(driver, f"#crumb-county-{county}")
        _settle(driver)
        links = driver.find_elements("css selector", "a[id^='drill-community-']")
        if links:
            community = links[0].get_attribute("id")[len("drill-community-") :]
            break
    assert community, "no county with a medical community"
    # county → community
    _click(driver, f"#drill-community-{community}")
    _wait_for(lambda: _q(driver).get("org") == community, what="community URL")
    facility = _first_id(driver, "drill-facility-")
    _settle(driver)
    driver.execute_script(
        "document.getElementById(arguments[0]).scrollIntoView({block: 'start'});window.scrollBy(0, -160);",
        f"drill-facility-{facility}",
    )
    time.sleep(0.3)
    driver.save_screenshot(str(shots / "scorecard-community.png"))
    # community → facility
    _click(driver, f"#drill-facility-{facility}")
    _wait_for(lambda: _q(driver).get("org") == facility, what="facility URL")
    _wait(driver, f"#crumb-facility-{facility}")
    for crumb in (f"county-{county}", f"community-{community}"):
        _wait(driver, f"#crumb-{crumb}")
    assert _q(driver)["level"] == "facility"
    if month:
        assert _q(driver)["month"] == month
    _settle(driver)
    # back up by breadcrumb to the county
    _click(driver, f"#crumb-county-{county}")
    _wait_for(lambda: _q(driver).get("org") == county, what="county via breadcrumb")
    _wait(driver, f"#drill-community-{community}")
    # the URL is shareable: reloading it shows the same view
    driver.get(driver.current_url)
    _wait(driver, f"#drill-community-{community}")
    _settle(driver)
    assert not _severe(driver)


def test_kpi_detail_shows_target_step(server, driver, shots):
    driver.get(server + "/kpi?code=village_phs_task_share&level=city&org=411000")
    _wait(driver, "#kpi-trend .js-plotly-plot")
    _settle(driver)
    ys = _wait_for(
        lambda: driver.execute_script(
            "const g = document.querySelector('#kpi-trend .js-plotly-plot');"
            "if (!g || !g.data) return null;"
            "const tr = g.data.find(t => t.line && t.line.shape === 'hv');"
            "return tr ? Array.from(tr.y) : null;"
        ),
        what="target trace",
    )
    assert {45.0, 50.0} <= {round(float(y), 6) for y in ys}  # 45% in 2020, 50% from 2021
    assert "许政办〔2020〕19号" in _wait(driver, "#definition-card").text
    _wait(driver, "#kpi-distribution .js-plotly-plot")
    driver.save_screenshot(str(shots / "kpi-detail.png"))
    assert not _severe(driver)


def test_language_switch(server, driver, shots):
    driver.get(server + "/?month=2021-06")
    _wait(driver, "#scorecard-0")
    assert _wait(driver, "#nav-scorecard").text == "绩效看板"
    _click(driver, "#lang-en")
    _wait_for(lambda: _q(driver).get("lang") == "en", what="lang=en in URL")
    _wait_for(lambda: _text(driver, "#nav-scorecard") == "Scorecard", what="English nav")
    _wait_for(lambda: "In-county visit rate" in _text(driver, "#scorecard-0"), what="English KPI names")
    _settle(driver)
    driver.save_screenshot(str(shots / "scorecard-en.png"))
    # a control writes the URL (period type), the page follows, the language stays
    _click(driver, "input[type='radio'][value='ytd']")
    _wait_for(lambda: _q(driver).get("pt") == "ytd", what="pt=ytd in URL")
    _wait_for(lambda: "Year to date" in _text(driver, "h2 .subtitle"), what="YTD scorecard")
    assert _q(driver).get("lang") == "en"
    _settle(driver)
    _click(driver, "#lang-zh")
    _wait_for(lambda: _text(driver, "#nav-scorecard") == "绩效看板", what="Chinese nav")
    assert not _severe(driver)


def test_sql_query_and_csv_download(server, driver, downloads, shots):
    driver.get(server + "/sql")
    box = _wait(driver, "#sql-text")
    _settle(driver)
    from selenium.webdriver.common.keys import Keys

    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys("SELECT '医共体' AS probe, org_level, count(*) AS n FROM marts.dim_org GROUP BY ALL ORDER BY 2")
    _click(driver, "#sql-run")
    _wait_for(lambda: "county" in _text(driver, "#sql-results"), what="query results")
    assert _text(driver, "#sql-status")
    driver.save_screenshot(str(shots / "sql.png"))
    _click(driver, "#sql-csv")
    f = _wait_for(lambda: [p for p in downloads.glob("*.csv")], what="CSV download")[0]
    _wait_for(lambda: f.stat().st_size > 0, what="CSV written")
    text = f.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "probe,org_level,n" and "医共体,county," in text
    assert not _severe(driver)


@pytest.mark.parametrize(
    "page,css,name",
    [
        ("/fund", "#fund-chart .js-plotly-plot", "fund"),
        ("/supervision", "#scorecard-0", "supervision"),
        ("/quality", "#completeness-grid", "quality"),
    ],
)
def test_other_pages_render_without_console_errors(server, driver, shots, page, css, name):
    driver.get(server + page)
    _wait(driver, css)
    _settle(driver)
    driver.save_screenshot(str(shots / f"{name}.png"))
    assert not _severe(driver)


def test_print_report(server, driver, shots):
    driver.get(server + "/report?pt=ytd")
    body = _wait(driver, "body").text
    assert "医共体绩效月报" in body
    driver.save_screenshot(str(shots / "report.png"))


def test_new_build_shows_without_restart(scratch_server, driver):
    """Publishing a new snapshot (as `medcom build` does) shows on the next page load; same server.

    Runs on its own server over a throw-away warehouse, so the shared test city stays untouched.
    """
    from access_helpers import ADMIN, sign_in
    from dashboard_fixture import build_snapshot

    server, browser_home = scratch_server
    css = "#scorecard-0 tr[data-kpi='in_county_visit_rate'] td.cell"
    sign_in(driver, server, ADMIN)  # its own session cookie, so the main server's session stays
    driver.get(server + "/?month=2021-06")
    before = _wait_for(lambda: _text(driver, css), what="city value")
    build_snapshot(browser_home, seed=99)
    driver.get(server + "/?month=2021-06")
    _wait(driver, "#scorecard-0")
    _wait_for(lambda: _text(driver, css) and _text(driver, css) != before, what="the new build's value")
    assert not _severe(driver)


def test_scorecard_xlsx_download(server, driver, downloads):
    driver.get(server + "/")
    _wait(driver, "#scorecard-0")
    _settle(driver)
    _click(driver, "#sc-export")
    f = _wait_for(lambda: [p for p in downloads.glob("scorecard_*.xlsx")], what="XLSX download")[0]
    _wait_for(lambda: f.stat().st_size > 1000, what="XLSX written")
    import openpyxl

    _wait_for(lambda: not list(downloads.glob("*.crdownload")), what="download finished")
    wb = openpyxl.load_workbook(f)
    assert len(wb.worksheets) >= 1 and wb.active.max_row > 5
    assert not _severe(driver)


def test_month_picker_writes_the_url(server, driver):
    driver.get(server + "/")
    _wait(driver, "#scorecard-0")
    _settle(driver)
    before = _text(driver, "h2 .subtitle")
    _click(driver, ".month-picker")
    options = _wait_for(lambda: driver.find_elements("css selector", "[role='option']"), what="month options")
    if len(options) < 2:
        pytest.skip("only one month of data")
    label = options[1].text
    options[1].click()
    _wait_for(lambda: _q(driver).get("month"), what="month in URL")
    _wait_for(
        lambda: label in _text(driver, "h2 .subtitle") and _text(driver, "h2 .subtitle") != before,
        what="scorecard of the chosen month",
    )
    assert not _severe(driver)


def test_county_user_signs_in_and_sees_only_the_county(server, driver, browser_county, shots):
    """Sign out the admin, sign in as a county user through the real form, see only that county, try another
    county's URL (shown as out of scope, none of its figures), sign out; then the admin again."""
    from access_helpers import ADMIN, COUNTY_USER, sign_in

    driver.get(server + "/")
    _wait(driver, "a[id^='drill-county-']")
    counties = [
        e.get_attribute("id")[len("drill-county-") :]
        for e in driver.find_elements("css selector", "a[id^='drill-county-']")
    ]
    other = next(c for c in counties if c != browser_county)  # a county the user may not see
    _click(driver, "#logout-link")
    _wait(driver, "#login-form")
    driver.get(server + "/?month=2021-06")
    assert "/login" in driver.current_url  # signed out: pages redirect to the sign-in form
    sign_in(driver, server, COUNTY_USER)
    _wait(driver, "#scorecard-0")
    _settle(driver)
    who = _text(driver, "#signed-in-user")
    assert COUNTY_USER in who
    crumbs = _text(driver, "#breadcrumbs")
    assert crumbs and crumbs in who  # the county is the root, and the header names it as the scope
    assert driver.find_elements("css selector", "#scorecard-0 th.org-head")
    assert not driver.find_elements("css selector", "a[id^='drill-county-']")  # no other county to drill to
    driver.get(server + f"/?level=county&org={other}")
    _wait(driver, "#out-of-scope")
    _settle(driver)
    assert f"crumb-county-{other}" not in driver.page_source and f"drill-county-{other}" not in driver.page_source
    assert _wait(driver, f"#crumb-county-{browser_county}")
    driver.save_screenshot(str(shots / "county-user.png"))
    _click(driver, "#logout-link")
    _wait(driver, "#login-form")
    sign_in(driver, server, ADMIN)  # leave the session as the other tests expect it
