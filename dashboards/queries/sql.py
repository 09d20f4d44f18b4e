"""The SQL page's access to the analysts' sandbox (`warehouse.sandbox`)."""

from __future__ import annotations


def run_sql(sql: str, max_rows: int = 10_000, timeout: float = 30.0):
    """Run one sandboxed read-only query (same as `medcom sql`): returns warehouse.sandbox.QueryResult."""
    from warehouse.sandbox import run_query

    return run_query(sql, max_rows=max_rows, timeout=timeout)
