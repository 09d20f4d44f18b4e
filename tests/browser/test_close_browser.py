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


def test_closed_month_switches_and_marks_restated_cells(closed_city, driver, tmp_path, shots):
    from medcom.closing.restatements import restatements

    serving = _browser_conftest().serving

    home, month, fix_name = closed_city
    with _snapshot(home) as con:
        restated = restatements(con)
        counties = {r[0] for r in con.execute("SELECT org_id FROM marts.dim_org WHERE org_level = 'county'").fetchall()}
    # a restated county cell of a month KPI shown on the city scorecard
    hit = restated[
        (restated.org_level == "county") & (restated.period_type == "month") & restated.org_id.isin(counties)
    ].iloc[0]
    row_css = f"#scorecard-0 tr[data-kpi='{hit.kpi_code}']"

    with serving(home, tmp_path) as base:
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
        _wait_for(
            lambda: county_cell().find_element("css selector", ".cell-value").text == old_text, what="closed value"
        )

        driver.get(f"{base}/closes")
        _wait(driver, "#closes-table")
        _settle(driver)
        assert f"{month:%Y-%m}" in _text(driver, "#closes-table")
        if shots:
            driver.save_screenshot(str(shots / "revision-log.png"))
        assert not _severe(driver)
