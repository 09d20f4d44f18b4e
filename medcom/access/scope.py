"""A viewer's scope: which part of the warehouse they may read.

A scope is (level, code): `Scope()` is the whole warehouse; `Scope("county", "411025")` one
county; `Scope("city", "411000")` one city of a province warehouse. An org is in scope when it
is the scope's org or lies below it (county → communities, townships, facilities); every page,
download, report and SQL snapshot applies that one rule (`dashboards.queries.orgs` for the
dashboard, `medcom.access.snapshots` for SQL).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ALL = "all"
LEVELS = ("province", "city", "county")  # the levels a scope can name


@dataclass(frozen=True)
class Scope:
    level: str = ALL
    code: str | None = None

    def __post_init__(self):
        if self.level != ALL and self.level not in LEVELS:
            raise ValueError(f"unknown scope level {self.level!r}")
        if (self.level == ALL) != (self.code is None):
            raise ValueError("a scope names a code exactly when it is not the whole warehouse")

    @classmethod
    def of(cls, level: str | None, code: str | None) -> Scope:
        return cls() if not code or level in (None, "", ALL) else cls(level, str(code))

    @classmethod
    def from_env(cls) -> Scope:
        """`MEDCOM_DASHBOARD_COUNTY` (a thin alias kept for old single-county deployments)."""
        return cls.of("county", os.environ.get("MEDCOM_DASHBOARD_COUNTY"))

    @property
    def is_all(self) -> bool:
        return self.level == ALL

    @property
    def county(self) -> str | None:
        """The county code of a county scope, else None."""
        return self.code if self.level == "county" else None

    @property
    def key(self) -> str:
        """'all', or 'county-411025' (names a scoped snapshot folder)."""
        return ALL if self.is_all else f"{self.level}-{self.code}"

    def __str__(self) -> str:
        return ALL if self.is_all else f"{self.level}:{self.code}"


def admin_parent(level: str, row: dict, city: str | None = None) -> tuple[str, str] | None:
    """The administrative parent of a `marts.dim_org` row: facility / township / community → county →
    city → province. `city`: the warehouse's city, for counties that name no parent."""

    def text(v) -> str | None:
        return v if isinstance(v, str) and v else None

    if level in ("facility", "township", "community"):
        county = text(row.get("county_code"))
        if county:
            return ("county", county)
        if row.get("parent_level") == "county" and text(row.get("parent_id")):
            return ("county", row["parent_id"])
        if level == "facility" and text(row.get("community_id")):
            return ("community", row["community_id"])
        return None
    if text(row.get("parent_level")) and row.get("parent_id") is not None:
        return (row["parent_level"], str(row["parent_id"]))
    if level == "county" and city:
        return ("city", city)
    return None


def members(rows: list[dict], scope: Scope) -> set[tuple[str, str]]:
    """{(org_level, org_id)} of the `marts.dim_org` rows inside `scope` — THE scope rule: the scope's
    org is the org itself or one of its administrative ancestors."""
    index = {(r["org_level"], str(r["org_id"])): r for r in rows}
    cities = [k[1] for k in index if k[0] == "city"]
    city = cities[0] if len(cities) == 1 else None
    if scope.is_all:
        return set(index)
    target = (scope.level, scope.code)
    out = set()
    for key in index:
        cur, seen = key, 0
        while cur is not None and seen < 8:
            if cur == target:
                out.add(key)
                break
            r = index.get(cur)
            cur = admin_parent(cur[0], r, city) if r is not None else None
            seen += 1
    return out
