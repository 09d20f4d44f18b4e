"""Organisations and THE scope rule of the dashboard.

`in_scope(level, org_id)` is the one test every query module applies: an org is in scope when the
viewer's scope is the whole warehouse, or when the scope's org is the org itself or one of its
administrative ancestors (facility / township / community → county → city → province). Query
modules never look at the user: they receive the request's `Scope` on `Queries(scope)` (the page
frame builds it from the signed-in user, `dashboards.frame.current_scope()`), and filter with
`in_scope`, `scope_filter` or `scope_keys`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from medcom.access.scope import admin_parent

ORG_EXTRA = ("tier", "county_code", "township_code", "community_id", "established_on")
LEVEL_ORDER = {"province": -1, "city": 0, "county": 1, "community": 2, "township": 3, "facility": 3}


@dataclass(frozen=True)
class Org:
    level: str
    id: str
    name: str


class OrgQueries:
    _orgs: pd.DataFrame | None = None
    _org_index: dict[tuple[str, str], dict] | None = None
    _lineage: dict[tuple[str, str], frozenset] | None = None

    def orgs(self) -> pd.DataFrame:
        if self._orgs is None:
            self._orgs = self.memo("orgs", (), self._read_orgs)
        return self._orgs

    def _read_orgs(self) -> pd.DataFrame:
        cols = set(self.columns("marts", "dim_org"))
        extra = [c for c in ORG_EXTRA if c in cols]
        sel = ", ".join(["org_level", "org_id", "name", "parent_level", "parent_id", *extra])
        df = self.df(f"SELECT {sel} FROM marts.dim_org")
        for c in ORG_EXTRA:
            if c not in df:
                df[c] = None
        df["org_id"] = df["org_id"].astype(str)
        return df

    def _row(self, level: str, org_id: str) -> dict | None:
        if self._org_index is None:
            self._org_index = self.memo(
                "org_index",
                (),
                lambda: {(r["org_level"], r["org_id"]): r for r in self.orgs().to_dict("records")},
                shared=True,
            )
        return self._org_index.get((level, str(org_id)))

    def org(self, level: str, org_id: str) -> Org | None:
        r = self._row(level, org_id)
        return None if r is None else Org(level, str(org_id), str(r["name"]))

    def name(self, level: str, org_id: str) -> str:
        o = self.org(level, org_id)
        return o.name if o else str(org_id)

    def city(self) -> Org | None:
        return self.memo("city", (), self._first_of_level, shared=True)

    def _first_of_level(self, level: str = "city") -> Org | None:
        o = self.orgs()
        hit = o[o.org_level == level]
        return None if hit.empty else Org(level, str(hit.iloc[0].org_id), str(hit.iloc[0]["name"]))

    def top(self) -> Org | None:
        """The warehouse's top org: the province when there is one, else the city."""
        return self.memo("province", (), lambda: self._first_of_level("province"), shared=True) or self.city()

    def root(self) -> Org | None:
        """Where the viewer's drill-down starts: the scope's org, or the top of the warehouse."""
        if self.scope.is_all:
            return self.top()
        return self.org(self.scope.level, self.scope.code)

    # -- the scope rule ---------------------------------------------------------------------
    def _admin_parent(self, level: str, org_id: str) -> tuple[str, str] | None:
        """The administrative parent (`medcom.access.scope.admin_parent`: facility/township/community → county → city)."""
        r = self._row(level, org_id)
        if r is None:
            return None
        c = self.city() if level == "county" else None
        return admin_parent(level, r, c.id if c else None)

    def lineage(self, level: str, org_id: str) -> frozenset:
        """{(level, id)} of the org and all its administrative ancestors."""
        if self._lineage is None:
            self._lineage = self.memo("lineage", (), self._all_lineages, shared=True)
        key = (level, str(org_id))
        hit = self._lineage.get(key)
        return hit if hit is not None else self._lineage_of(key)

    def _all_lineages(self) -> dict[tuple[str, str], frozenset]:
        o = self.orgs()
        return {(lv, oid): self._lineage_of((lv, oid)) for lv, oid in zip(o.org_level, o.org_id, strict=True)}

    def _lineage_of(self, key: tuple[str, str]) -> frozenset:
        chain, cur = [], key
        while cur is not None and cur not in chain and len(chain) < 8:
            chain.append(cur)
            cur = self._admin_parent(*cur)
        return frozenset(chain)

    def in_scope(self, level: str, org_id: str) -> bool:
        if self.org(level, org_id) is None:
            return False
        if self.scope.is_all:
            return True
        return (self.scope.level, self.scope.code) in self.lineage(level, str(org_id))

    def scope_orgs(self, level: str) -> list[Org]:
        """Every org of `level` in scope, by id."""
        o = self.orgs()
        o = o[o.org_level == level].sort_values("org_id")
        return [Org(level, str(r.org_id), str(r.name)) for r in o.itertuples() if self.in_scope(level, r.org_id)]

    def scope_keys(self, levels=("county", "community")) -> list[str]:
        """Codes of the in-scope orgs of `levels` (to match codes named in file names and coverage keys)."""
        return [x.id for lvl in levels for x in self.scope_orgs(lvl)]

    def scope_filter(self, df: pd.DataFrame, level: str, col: str) -> pd.DataFrame:
        """Rows of `df` whose `col` names an in-scope org of `level` (all rows for the whole warehouse)."""
        if not self.scope.is_all and not df.empty:
            df = df[[self.in_scope(level, str(x)) for x in df[col]]]
        return df.reset_index(drop=True)

    # -- the drill-down tree ------------------------------------------------------------------
    def county_of(self, level: str, org_id: str) -> str | None:
        if level == "county":
            return org_id
        r = self._row(level, org_id)
        if r is None:
            return None
        if level in ("community", "township"):
            return str(r["parent_id"]) if r["parent_level"] == "county" else str(org_id)[:6]
        if level == "facility":
            return str(r["county_code"]) if isinstance(r["county_code"], str) and r["county_code"] else None
        return None

    def children(self, level: str, org_id: str) -> dict[str, list[Org]]:
        """Drill-down targets of an org, grouped by level (scope-filtered)."""
        o = self.orgs()
        out: dict[str, list[Org]] = {}

        def take(df: pd.DataFrame, lvl: str) -> list[Org]:
            df = df.sort_values("org_id")
            return [Org(lvl, str(r.org_id), str(r.name)) for r in df.itertuples() if self.in_scope(lvl, r.org_id)]

        def below(lvl: str) -> pd.DataFrame:
            kids = o[o.org_level == lvl]
            return kids[(kids.parent_id.astype(str) == str(org_id)) | kids.parent_id.isna()]

        if level == "province":
            out["city"] = take(below("city"), "city")
        elif level == "city":
            out["county"] = take(below("county"), "county")
        elif level == "county":
            out["community"] = take(o[(o.org_level == "community") & (o.parent_id == org_id)], "community")
        elif level == "community":
            fac = o[(o.org_level == "facility") & (o.community_id == org_id)]
            out["facility"] = take(fac, "facility")
            towns = set(fac.township_code.dropna().astype(str))
            out["township"] = take(o[(o.org_level == "township") & (o.org_id.isin(towns))], "township")
        return {k: v for k, v in out.items() if v}

    def community_of_township(self, township: str) -> str | None:
        o = self.orgs()
        fac = o[(o.org_level == "facility") & (o.township_code == township) & o.community_id.notna()]
        return None if fac.empty else str(fac.iloc[0].community_id)

    def path(self, level: str, org_id: str) -> list[Org]:
        """Breadcrumb trail from the scope root down to the org."""
        trail: list[Org] = []
        cur: tuple[str, str] | None = (level, str(org_id))
        root = self.root()
        while cur is not None:
            org = self.org(*cur)
            if org is None:
                break
            trail.append(org)
            if root and (org.level, org.id) == (root.level, root.id):
                break
            lvl, oid = cur
            if lvl == "facility":
                r = self._row("facility", oid)
                comm = r["community_id"] if isinstance(r["community_id"], str) and r["community_id"] else None
                cur = ("community", comm) if comm else ("county", str(r["county_code"]))
            elif lvl == "township":
                comm = self.community_of_township(oid)
                cur = ("community", comm) if comm else ("county", self.county_of("township", oid))
            elif lvl == "community":
                cur = ("county", self.county_of("community", oid))
            else:
                cur = self._admin_parent(lvl, oid)
        return list(reversed(trail))
