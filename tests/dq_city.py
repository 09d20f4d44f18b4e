"""A tiny city with a delivery history, an outlier batch and a normal one, ingested and built.

County A (411025) delivers encounters every month 2020-05…2020-12 (about 200 a month), then
2021-01 with half its usual volume (the outlier) and 2021-02 as usual; county B (411002)
delivers none. Shared by the cell-quality test and the browser test of the provisional mark.
"""

from __future__ import annotations

from pathlib import Path

from ingest_helpers import COUNTY_A, encounters, write_csv, write_reference
from medcom_cli import run_medcom

HISTORY = {f"2020-{m:02d}": n for m, n in zip(range(5, 13), [196, 204, 200, 194, 206, 200, 198, 202], strict=True)}
OUTLIER_MONTH, NORMAL_MONTH = "2021-01", "2021-02"
OUTLIER_WARNING = f"{COUNTY_A} {OUTLIER_MONTH}: 100 encounters, 50% below its usual 200"
OUTLIER_WARNING_ZH = f"{COUNTY_A} {OUTLIER_MONTH}：100 人次，比常态 200 低 50%"


def month_file(inbox: Path, month: str, n: int, county: str = COUNTY_A) -> Path:
    return write_csv(inbox / "encounters" / f"encounters_{month}_{county}.csv", encounters(n, month=month))


def build_dq_city(root: Path) -> Path:
    """MEDCOM_HOME of the built city (two ingest runs: reference + history, then the two new months)."""
    home = root / "home"
    first, second = root / "inbox1", root / "inbox2"
    write_reference(first)
    for month, n in HISTORY.items():
        month_file(first, month, n)
    month_file(second, OUTLIER_MONTH, 100)
    month_file(second, NORMAL_MONTH, 201)
    run_medcom("ingest", str(first), home=home, check=True)
    run_medcom("ingest", str(second), home=home, check=True)
    run_medcom("build", home=home, check=True)
    return home
