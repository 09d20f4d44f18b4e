"""The feed contract is the one place feeds are described; its derivations stay in sync."""

from medcom.contract import load_contract, normalise_header
from medcom.contract.export import sources_path, sources_yaml


def test_dbt_sources_are_generated_from_the_contract():
    assert sources_path().read_text(encoding="utf-8") == sources_yaml(), (
        "dbt sources are stale: run `python -m medcom.contract.export`"
    )


def test_header_normalisation():
    c = load_contract()
    assert normalise_header("总费用（元）") == normalise_header("总费用(元)") == "总费用"
    assert c.match_header(" ＥＮＣＯＵＮＴＥＲ＿ＩＤ ", "encounters") == "encounter_id"
    assert c.match_header("结算流水号", "encounters") == "encounter_id"
    assert c.match_header("就诊流水号", "encounters") == "encounter_id"
    assert c.match_header("unknown", "encounters") is None


def test_enum_labels_and_codes():
    c = load_contract()
    grade = c.enum_lookup("grade")
    assert grade["一级乙等"] == "1" and grade["3a"] == "3A" and grade["未定级"] == "none"
    assert c.enum_lookup("tier")["社区卫生服务站"] == "village"
    assert c.bool_lookup()["是"] is True and c.bool_lookup()["n"] is False


def test_feed_detection_and_order():
    c = load_contract()
    assert c.feed_for_filename("encounters_2020-10_411025.csv") == "encounters"
    assert c.feed_for_filename("phs_services_2020.xlsx") == "phs_services"
    assert c.feed_for_filename("readme.txt") is None
    order = c.load_order()
    assert order[:6] == ["regions", "facilities", "communities", "memberships", "catchments", "targets"]
    assert len(order) == 19
