"""The provisional mark in a real browser: a cell on warned data shows its tooltip in zh and en."""

from __future__ import annotations

import pytest
from dq_city import NORMAL_MONTH, OUTLIER_MONTH, OUTLIER_WARNING, OUTLIER_WARNING_ZH
from ingest_helpers import COUNTY_A
from test_dashboard_browser import _settle, _severe, _wait, _wait_for

pytestmark = pytest.mark.browser
_MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _hover_tip(driver, el) -> str:
    """The tooltip the mark shows on hover (its ::after box), "" when none is shown."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    ActionChains(driver).move_to_element(el).perform()
    return _wait_for(
        lambda: driver.execute_script(
            "const s = getComputedStyle(arguments[0], '::after');"
            "return s.display !== 'none' && s.content && s.content !== 'none' ? s.content : '';",
            el,
        ),
        what="tooltip shown on hover",
    )


@pytest.mark.parametrize(
    ("lang", "head", "warning"),
    [("zh", "暂定数据：", OUTLIER_WARNING_ZH), ("en", "Provisional: ", OUTLIER_WARNING)],
)
def test_provisional_cell_shows_its_tooltip(dq_server, driver, shots, lang, head, warning):
    driver.get(f"{dq_server}/?level=county&org={COUNTY_A}&month={OUTLIER_MONTH}&lang={lang}")
    _wait(driver, "#scorecard-0")
    _settle(driver)
    row = _wait(driver, "#scorecard-0 tr[data-kpi='in_county_visit_rate']")
    cell = row.find_elements("css selector", "td.cell")[0]  # the county's own column
    assert cell.get_attribute("data-provisional") == "1"
    mark = cell.find_element("css selector", ".cell-provisional")
    assert mark.text == {"zh": "暂定", "en": "Provisional"}[lang]
    tip = _hover_tip(driver, mark)
    assert tip.strip('"').startswith(head) and warning in tip, tip
    driver.save_screenshot(str(shots / f"provisional-{lang}.png"))
    # the KPI detail: the outlier month is provisional, the normal month is not
    driver.get(f"{dq_server}/kpi?code=in_county_visit_rate&level=county&org={COUNTY_A}&lang={lang}")
    table = _wait(driver, "#numden-table")
    _settle(driver)
    rows = {r.find_elements("css selector", "td")[0].text: r for r in table.find_elements("css selector", "tbody tr")}
    label = {"zh": lambda m: f"{m[:4]}年{int(m[5:])}月", "en": lambda m: f"{_MON[int(m[5:]) - 1]} {m[:4]}"}[lang]
    out, normal = rows[label(OUTLIER_MONTH)], rows[label(NORMAL_MONTH)]
    assert warning in _hover_tip(driver, out.find_element("css selector", ".cell-provisional"))
    assert not normal.find_elements("css selector", ".cell-provisional")
    assert not _severe(driver)
