"""A closed month in a real Chromium: closed figures by default, the switch to current figures, and
the marker of a cell a correction restated (old → new). Runs on its own copy of the generated city:
close → correction → build, then its own `medcom serve`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest
from medcom_cli import run_medcom

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_dashboard_browser import _click, _q, _settle, _severe, _text, _wait, _wait_for  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _browser_conftest():
    """tests/browser/conftest.py as a module (for its `serving` context manager)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_browser_conftest", Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _snapshot(home: Path) -> duckdb.DuckDBPyConnection:
    name = (home / "published" / "CURRENT").read_text().strip()
    return duckdb.connect(str(home / "published" / name), read_only=True)


@pytest.fixture(scope="module")
def closed_city(built_city, tmp_path_factory):
    """A copy of the city with its latest month closed, then a correction of one plan county's
    encounters of that month ingested and built."""
    root = tmp_path_factory.mktemp("closed-browser")
    home = root / "home"
    shutil.copytree(built_city, home, ignore=shutil.ignore_patterns("*.lock", "tmp"))
    inbox = Path((built_city.parent / "inbox-path").read_text())
    with _snapshot(home) as con:
        month = con.execute("SELECT max(period) FROM marts.kpi_values WHERE period_type = 'month'").fetchone()[0]
        plan = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT parent_id FROM marts.dim_org WHERE org_level = 'community'"
            ).fetchall()
        ]
    run_medcom("close", f"{month:%Y-%m}", home=home, check=True)
    src = next(p for c in sorted(plan) if (p := inbox / "encounters" / f"encounters_{month:%Y-%m}_{c}.csv").exists())
    lines = src.read_bytes().splitlines(keepends=True)
    fix = root / "fix" / "encounters" / src.name
    fix.parent.mkdir(parents=True)
    fix.write_bytes(b"".join([lines[0], *(x for i, x in enumerate(lines[1:]) if i % 3)]))
    run_medcom("ingest", str(fix.parent.parent), home=home, check=True)
    run_medcom("build", home=home, check=True)
    return home, month, src.name


@pytest.fixture(scope="module")
def closed_server(closed_city, driver, tmp_path_factory):
    """One `medcom serve` on the closed city for this module's tests, the driver signed in there as the
    admin (its own session cookie, so the session on `server` stays)."""
    from access_helpers import ADMIN, sign_in

    conftest = _browser_conftest()
    conftest.ensure_browser_users(closed_city[0])
    with conftest.serving(closed_city[0], tmp_path_factory.mktemp("closed-serve"), cookie="medcom_closed") as base:
        sign_in(driver, base, ADMIN)
        yield base


def test_closed_month_switches_and_marks_restated_cells(closed_city, closed_server, driver, shots):
    from medcom.closing.restatements import restatements

    home, month, fix_name = closed_city
    with _snapshot(home) as con:
        restated = restatements(con)
        counties = {r[0] for r in con.execute("SELECT org_id FROM marts.dim_org WHERE org_level = 'county'").fetchall()}
    # a restated county cell of a month KPI shown on the city scorecard
    hit = restated[
        (restated.org_level == "county") & (restated.period_type == "month") & restated.org_id.isin(counties)
    ].iloc[0]
    row_css = f"#scorecard-0 tr[data-kpi='{hit.kpi_code}']"

    base = closed_server
    driver.get(f"{base}/?month={month:%Y-%m}")
    _wait(driver, "#close-banner")
    _settle(driver)
    banner = driver.find_element("css selector", "#close-banner")
    assert banner.get_attribute("data-figures") == "closed"
    assert "第 1 版" in banner.text and "已关账" in banner.text

    def county_cell():
        heads = driver.find_elements("css selector", "#scorecard-0 thead th")
        col = next(i for i, h in enumerate(heads) if f"drill-county-{hit.org_id}" in h.get_attribute("innerHTML"))
        return driver.find_elements("css selector", f"{row_css} td")[col]

    cell = county_cell()
    assert "restated" in cell.get_attribute("class")
    marker = cell.find_element("css selector", ".cell-restated")
    assert "已更正" in marker.text and "→" in marker.text
    assert fix_name in marker.get_attribute("title")
    old_text = cell.find_element("css selector", ".cell-value").text
    if shots:
        driver.save_screenshot(str(shots / "scorecard-closed.png"))

    _click(driver, "#fig-current")
    _wait_for(lambda: _q(driver).get("fig") == "current", what="fig=current in the URL")
    _wait_for(
        lambda: _text(driver, "#close-banner") and "当前显示现值" in _text(driver, "#close-banner"),
        what="current-figures banner",
    )
    _settle(driver)
    cell = county_cell()
    new_text = cell.find_element("css selector", ".cell-value").text
    assert "restated" in cell.get_attribute("class")
    assert new_text != old_text
    mark = cell.find_element("css selector", ".cell-restated").text
    assert f"{old_text} → {new_text}" in mark

    _click(driver, "#fig-closed")
    _wait_for(lambda: _q(driver).get("fig") == "closed", what="fig=closed in the URL")
    _settle(driver)
    _wait_for(lambda: county_cell().find_element("css selector", ".cell-value").text == old_text, what="closed value")

    driver.get(f"{base}/closes")
    _wait(driver, "#closes-table")
    _settle(driver)
    assert f"{month:%Y-%m}" in _text(driver, "#closes-table")
    if shots:
        driver.save_screenshot(str(shots / "revision-log.png"))
    assert not _severe(driver)


def _table_rows(driver, css) -> list[list[str]]:
    return [
        [td.text for td in tr.find_elements("css selector", "td")]
        for tr in driver.find_elements("css selector", f"{css} tbody tr")
    ]


def _ranks(values: dict[str, float], direction: str) -> dict[str, int]:
    """Competition ranks (1 = best; ties share the best rank) of values in the KPI's direction."""
    rounded = {k: round(v, 9) for k, v in values.items()}
    better = (lambda a, b: a > b) if direction == ">=" else (lambda a, b: a < b)
    return {k: 1 + sum(better(w, v) for w in rounded.values()) for k, v in rounded.items()}


def test_league_page_ranks_counties_in_the_closed_figures(closed_city, closed_server, driver, shots):
    """The league page of the closed month: each scored KPI's counties ranked in its direction on the
    closed figures (ranks checked against closed.kpi_values), rank changes, gap to target, the composite
    with its formula and weights; the closed / current switch; a county's community league."""
    home, month, _ = closed_city
    with _snapshot(home) as con:
        kpi, direction = con.execute(
            "SELECT kpi_code, direction FROM marts.dim_kpi WHERE kpi_code = 'in_county_visit_rate'"
        ).fetchone()
        closed = con.execute(
            "SELECT o.name, k.value FROM closed.kpi_values k JOIN marts.dim_org o USING (org_level, org_id) "
            "WHERE k.closed_month = ? AND k.revision = 1 AND k.kpi_code = ? AND k.org_level = 'county' "
            "AND k.period_type = 'month' AND k.period = ? AND k.value IS NOT NULL "
            "AND k.status NOT IN ('no_data', 'insufficient')",
            [month, kpi, month],
        ).fetchall()
        county, county_name = con.execute(
            "SELECT c.parent_id, any_value(o.name) FROM marts.dim_org c JOIN marts.dim_org o "
            "ON o.org_level = 'county' AND o.org_id = c.parent_id WHERE c.org_level = 'community' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
        communities = {
            r[0]
            for r in con.execute(
                "SELECT name FROM marts.dim_org WHERE org_level = 'community' AND parent_id = ?", [county]
            ).fetchall()
        }
    expected = _ranks(dict(closed), direction)
    base = closed_server
    driver.get(f"{base}/league?month={month:%Y-%m}&lang=en")
    _wait(driver, "#league-composite")
    _settle(driver)
    assert driver.find_element("css selector", "#close-banner").get_attribute("data-figures") == "closed"
    rows = _table_rows(driver, f"#league-{kpi}")
    ranked = {r[1]: int(r[0]) for r in rows if r[0].isdigit()}
    assert ranked == expected, (ranked, expected)
    for r in rows:
        if r[0].isdigit():
            assert r[5][:1] in "↑↓—", r  # change in rank since the previous month
            assert r[4][:1] in "+−±" and r[4].endswith("pp"), r  # gap to target in percentage points
    assert "composite = Σ(weight" in _text(driver, "#league-formula")
    assert "Weights:" in _text(driver, "#league-weights") and "×" in _text(driver, "#league-weights")
    comp = _table_rows(driver, "#league-composite")
    assert ranked.keys() <= {r[1] for r in comp}  # ranked on a weighted KPI: in the composite
    assert all(r[0].isdigit() for r in comp) and float(comp[0][2]) >= float(comp[-1][2])
    if shots:
        driver.save_screenshot(str(shots / "league.png"))

    _click(driver, "#fig-current")
    _wait_for(lambda: _q(driver).get("fig") == "current", what="fig=current in the URL")
    _wait_for(lambda: "showing current figures" in _text(driver, "#close-banner"), what="current-figures banner")

    driver.get(f"{base}/league?month={month:%Y-%m}&lang=zh&league=community:{county}")
    _wait(driver, "#league-composite")
    _settle(driver)
    assert county_name in _text(driver, "#league-page")
    names = {r[1] for r in _table_rows(driver, "#league-composite")}
    assert names and names <= communities, (names, communities)
    assert "综合得分 = Σ" in _text(driver, "#league-formula")
    assert not _severe(driver)
