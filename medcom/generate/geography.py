"""Real Xuchang county and township codes (packaged copies of ../shared/reference)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

CITY_CODE = "411000"
CITY_NAME = "许昌市"

# 411071 (许昌经济技术开发区) is a functional zone, not a county: left out of the
# synthetic city (its two streets are not generated either).
EXCLUDED_COUNTIES = {"411071"}

# Approximate residents (2020 census scale; 4.38M in total; 1,337,940 in the two districts).
COUNTY_RESIDENTS = {
    "411002": 500_000,
    "411003": 837_940,
    "411024": 560_000,
    "411025": 680_000,
    "411081": 1_110_000,
    "411082": 690_000,
}

# Codes outside the city used for out-of-city care and out-of-city insured people.
OUTSIDE_COUNTIES = {
    "410102": "郑州市中原区",
    "410105": "郑州市金水区",
    "411102": "漯河市源汇区",
    "410402": "平顶山市新华区",
    "110102": "北京市西城区",
}
# insured counties outside the city that get their own encounter files
OUTSIDE_INSURED = ["410102", "411102"]


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    county_code: str

    @property
    def is_street(self) -> bool:
        return self.name.endswith("街道") or self.name.endswith("区")


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("medcom.generate").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def counties() -> dict[str, str]:
    """{county_code: name} of the generated city (411071 left out)."""
    return {
        r["county_code"]: r["name"] for r in _read("xuchang-counties.csv") if r["county_code"] not in EXCLUDED_COUNTIES
    }


def townships() -> list[Township]:
    keep = counties()
    return [
        Township(r["township_code"], r["name"], r["county_code"])
        for r in _read("xuchang-townships.csv")
        if r["county_code"] in keep
    ]
