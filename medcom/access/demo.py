"""Demo users for `medcom demo` / `make demo`: an admin and one county user, with their passwords printed.

The password is MEDCOM_DEMO_PASSWORD when set, else a new random one per run (an existing demo user
gets it as a new password, so what is printed always works).
"""

from __future__ import annotations

import os
import secrets

from medcom.access import users

ADMIN, COUNTY = "admin", "county"


def demo_county() -> str:
    """The first county of the warehouse that has a medical community (else the first county)."""
    from warehouse import connect_reader

    con = connect_reader()
    try:
        row = con.execute(
            "SELECT c.org_id FROM marts.dim_org c WHERE c.org_level = 'county' ORDER BY "
            "(SELECT count(*) FROM marts.dim_org m WHERE m.org_level = 'community' AND m.parent_id = c.org_id) = 0, "
            "c.org_id LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    if row is None:
        raise users.AccessError("the warehouse has no county: nothing to scope a demo user to")
    return str(row[0])


def ensure_demo_users() -> list[tuple[str, str, str, str]]:
    """[(name, role, scope, password)] of the demo admin and county user, created or given a new password."""
    out = []
    county = demo_county()
    for name, role, code in ((ADMIN, "admin", None), (COUNTY, "county", county)):
        password = os.environ.get("MEDCOM_DEMO_PASSWORD") or secrets.token_urlsafe(9)
        u = users.get(name)
        if u is None:
            u = users.add(name, role, password, county=code)
        else:
            users.passwd(name, password)
            if u.disabled:
                users.set_disabled(name, False)
        out.append((u.name, u.role, str(u.scope), password))
    return out


def print_demo_users(rows) -> None:
    print("sign in to the dashboard with one of these users:", flush=True)
    for name, role, scope, password in rows:
        print(f"  user {name:<8} password {password:<14} ({role}, scope {scope})", flush=True)
