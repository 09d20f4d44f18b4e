"""Connection plumbing shared by every query module: one read-only connection per request."""

from __future__ import annotations

import contextlib

import duckdb
import pandas as pd

from access.scope import Scope
from medcom.errors import MedcomError


class NoWarehouse(MedcomError):
    """No snapshot has been published yet."""


def connect() -> duckdb.DuckDBPyConnection:
    """Read-only connection to the current published snapshot (same settings as the SQL sandbox)."""
    from warehouse import connect_reader

    try:
        return connect_reader()
    except MedcomError as exc:
        raise NoWarehouse(str(exc)) from None


class Reader:
    """`with Queries(scope) as q:` opens the snapshot lazily on the first query and closes it at the end."""

    def __init__(self, scope: Scope | None = None, con: duckdb.DuckDBPyConnection | None = None):
        self.scope = scope or Scope()
        self._con = con
        self._own = con is None
        self._tables: set[tuple[str, str]] | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None and self._own:
            with contextlib.suppress(Exception):
                self._con.close()
        self._con = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = connect()
        return self._con

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def _read_if_present(self, schema: str, table: str, sql: str, params: list | None = None) -> pd.DataFrame:
        """`sql` (a query on schema.table), or an empty frame when the snapshot has no such table."""
        return self.df(sql, params) if self.has(schema, table) else pd.DataFrame()

    def tables(self) -> set[tuple[str, str]]:
        if self._tables is None:
            rows = self.con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            self._tables = {(s, n) for s, n in rows}
        return self._tables

    def has(self, schema: str, table: str) -> bool:
        return (schema, table) in self.tables()

    def columns(self, schema: str, table: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        return [r[0] for r in rows]
