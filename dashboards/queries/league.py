"""League tables of a month (medcom.closing.league, the computation the bulletin PDF uses), in scope.

Which leagues a viewer may see: the county league of the viewer's root (a province: every county of
it; a city: its counties), and the community league of each county in scope. A county-scoped viewer
gets only its own county's community league: a county league would show other counties' values.
"""

from __future__ import annotations

from datetime import date

from medcom.closing.league import league_tables


class LeagueQueries:
    def league_choices(self) -> list[tuple[str, str | None]]:
        """[("county", parent or None)] when the viewer may see a county league, then
        [("community", county_id)] per county in scope."""
        root = self.root()
        out: list[tuple[str, str | None]] = []
        if root is not None and root.level in ("province", "city"):
            out.append(("county", root.id if root.level == "city" and self.top() != root else None))
        out += [("community", c.id) for c in self.scope_orgs("county")]
        return out

    def league(self, month: date, level: str, parent: str | None, fig: str = "current") -> dict | None:
        """league_tables(...) of an allowed league, every row in scope; None when not allowed.
        `fig`: "closed" = the month's closed figures (the month must be closed), else today's."""
        if (level, parent) not in self.league_choices():
            return None
        lt = league_tables(self.con, month, level, parent, source="closed" if fig == "closed" else "current")
        keep = lambda df: df[[self.in_scope(lv, str(o)) for lv, o in zip(df.org_level, df.org_id, strict=True)]]  # noqa: E731
        lt["tables"] = {k: keep(tb).reset_index(drop=True) for k, tb in lt["tables"].items()}
        lt["tables"] = {k: tb for k, tb in lt["tables"].items() if not tb.empty}
        lt["composite"] = keep(lt["composite"]).reset_index(drop=True)
        return lt
