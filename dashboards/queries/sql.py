"""The SQL page's and the API's access to the analysts' sandbox (`warehouse.sandbox`), in the viewer's scope."""

from __future__ import annotations


def run_sql(sql: str, max_rows: int = 10_000, timeout: float = 30.0, scope=None):
    """Run one sandboxed read-only query (same as `medcom sql`): returns warehouse.sandbox.QueryResult.

    `scope`: the viewer's scope; below the whole warehouse the query runs on that scope's snapshot,
    which holds only the scope's rows (`medcom.access.snapshots`)."""
    from warehouse.sandbox import run_query

    return run_query(sql, max_rows=max_rows, timeout=timeout, scope=scope)
