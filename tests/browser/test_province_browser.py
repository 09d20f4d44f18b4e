"""The dashboard of a province (the generated 2-city 河南省, `built_province`) in headless Chromium:
the province is the root of the scorecard and the breadcrumb; drill province → city → county →
community and back up by the breadcrumb; the printable report covers both cities."""

from __future__ import annotations

import pytest
from test_dashboard_browser import _click, _q, _settle, _severe, _wait, _wait_for

pytestmark = pytest.mark.browser

PROVINCE, CITIES = "410000", ("411000", "411100")


def test_province_drill_down_and_breadcrumbs(province_server, driver):
    driver.get(province_server + "/")
    _wait(driver, "#scorecard-0")
    _settle(driver)
    heads = driver.find_elements("css selector", "#scorecard-0 thead th.org-head")
    assert "current" in heads[0].get_attribute("class") and "省" in heads[0].text  # the province first
    for city in CITIES:  # then one column per city
        _wait(driver, f"#drill-city-{city}")
    _wait(driver, f"#crumb-province-{PROVINCE}")
    # province → city (漯河市, the second city)
    _click(driver, f"#drill-city-{CITIES[1]}")
    _wait_for(lambda: _q(driver).get("org") == CITIES[1], what="city URL")
    _wait(driver, f"#crumb-city-{CITIES[1]}")
    _wait(driver, f"#crumb-province-{PROVINCE}")
    _settle(driver)
    counties = [
        e.get_attribute("id")[len("drill-county-") :]
        for e in driver.find_elements("css selector", "a[id^='drill-county-']")
    ]
    assert counties and all(c[:4] == CITIES[1][:4] for c in counties)  # only this city's counties
    city_url = driver.current_url
    community = county = None
    for county in counties:
        if driver.current_url != city_url:
            driver.get(city_url)
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
    assert community, "no county of the city with a medical community"
    # county → community: the breadcrumb is province › city › county › community
    _click(driver, f"#drill-community-{community}")
    _wait_for(lambda: _q(driver).get("org") == community, what="community URL")
    for crumb in (f"province-{PROVINCE}", f"city-{CITIES[1]}", f"county-{county}", f"community-{community}"):
        _wait(driver, f"#crumb-{crumb}")
    crumbs = [e.get_attribute("id") for e in driver.find_elements("css selector", "#breadcrumbs .crumb")]
    assert crumbs == [
        f"crumb-province-{PROVINCE}",
        f"crumb-city-{CITIES[1]}",
        f"crumb-county-{county}",
        f"crumb-community-{community}",
    ]
    _settle(driver)
    # back to the province by the breadcrumb
    _click(driver, f"#crumb-province-{PROVINCE}")
    _wait_for(lambda: _q(driver).get("org") == PROVINCE, what="province via breadcrumb")
    _wait(driver, f"#drill-city-{CITIES[0]}")
    _settle(driver)
    assert not _severe(driver)


def test_province_report_covers_every_city(province_server, driver):
    driver.get(province_server + "/report")
    _wait(driver, "h1")
    text = driver.find_element("css selector", "body").text
    assert "河南省" in text and "许昌市" in text and "漯河市" in text
    assert "源汇区" in text  # a county of the second city has its own page
