"""`medcom demo --cities N` refuses a MEDCOM_HOME that already holds another demo's warehouse.

A single city and a province (or provinces of different sizes) must not be ingested into one
warehouse: the province's feeds would replace only the coverage keys they carry and leave the
other demo's rows (e.g. people insured in a county that is now a city of the province) behind.
"""

from __future__ import annotations

from pathlib import Path

from medcom.errors import UsageError
from medcom.generate.geography import province_specs


def demo_cities(cities: int) -> set[str]:
    return {s.code for s in province_specs(cities)}


def check_demo_home(home: Path, cities: int) -> None:
    """Raise UsageError when `home`'s warehouse holds a registry of other cities than this demo's."""
    wh = home / "warehouse.duckdb"
    if not wh.exists():
        return
    import duckdb

    try:
        with duckdb.connect(str(wh), read_only=True) as con:
            have = {
                r[0]
                for r in con.execute(
                    "SELECT region_code FROM raw.regions WHERE _superseded_by IS NULL AND level = 'city'"
                ).fetchall()
            }
    except duckdb.Error:
        return  # no readable registry yet: nothing to mix with
    want = demo_cities(cities)
    if have and have != want:
        what = "a single city" if len(have) == 1 else f"a province of {len(have)} cities"
        raise UsageError(
            f"{home} already holds {what}; `medcom demo --cities {cities}` needs its own MEDCOM_HOME "
            f"(e.g. MEDCOM_HOME=./data-{cities}-cities medcom demo --cities {cities})"
        )
