"""What each role may do. Scope (which rows) is separate: `medcom.access.scope`.

- admin: every page, SQL, API, downloads, and the access-log page; manages users (command line);
- analyst: every page, SQL, API and downloads, in the whole warehouse (or one city of a province);
- county: every page, SQL, API and downloads, in one county;
- steward: the data-quality page only (batches, quarantine, completeness), in its county if given.
"""

from __future__ import annotations

ACTIONS = ("pages", "sql", "export", "admin")
_ALLOWED = {
    "admin": {"pages", "sql", "export", "admin"},
    "analyst": {"pages", "sql", "export"},
    "county": {"pages", "sql", "export"},
    "steward": set(),
}
STEWARD_PATHS = {"/quality"}
ADMIN_PATHS = {"/access"}


def can(role: str | None, action: str) -> bool:
    return action in _ALLOWED.get(role or "", set())


def may_view(role: str | None, path: str) -> bool:
    """May this role open the page at `path`?"""
    if role not in _ALLOWED:
        return False
    if path in ADMIN_PATHS:
        return can(role, "admin")
    if role == "steward":
        return path in STEWARD_PATHS
    return can(role, "pages")
