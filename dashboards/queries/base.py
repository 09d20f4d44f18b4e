"""Connection plumbing shared by every query module: one read-only connection per request, and the
exact per-snapshot cache (`dashboards.queries.cache`) behind `Reader.memo`."""

from __future__ import annotations

import contextlib

import duckdb
import pandas as pd

from dashboards.queries import cache
from medcom.access.scope import Scope
from medcom.errors import MedcomError


class NoWarehouse(MedcomError):
    """No snapshot has been published yet."""


def connect(scope: Scope | None = None) -> duckdb.DuckDBPyConnection:
    """Read-only connection to the current published snapshot (same settings as the SQL sandbox); for a
    scope below the whole warehouse, to that scope's snapshot (`medcom.access.snapshots`), which holds no
    other rows — the pages' own scope filters are a second fence."""
    from medcom.access.snapshots import connect_scoped
    from warehouse import current_snapshot

    if current_snapshot() is None:
        raise NoWarehouse("no published warehouse yet: run `medcom ingest` and `medcom build` first")
    scope = scope or Scope()
    try:
        con = connect_scoped(scope)
    except MedcomError as exc:
        raise NoWarehouse(str(exc)) from None
    cache.keep_open(con, lambda: connect_scoped(scope))
    return con


class Reader:
    """`with Queries(scope) as q:` opens the snapshot lazily on the first query and closes it at the end."""

    def __init__(self, scope: Scope | None = None, con: duckdb.DuckDBPyConnection | None = None):
        self.scope = scope or Scope()
        self._con = con
        self._own = con is None
        self._tables: set[tuple[str, str]] | None = None
        self._cache_key: tuple | None = None
        self._stale = False

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
            self._con = connect(self.scope, **self._connect_args())
            if self._cache_key and not cache.reads_snapshot(self._con, self._cache_key[0]):
                self._stale = True  # published in between: this request's results are not cached
        return self._con

    def _connect_args(self) -> dict:
        return {}

    @property
    def cache_key(self) -> tuple | None:
        """(snapshot identity, scope) of this request, or None when nothing may be cached (cache off,
        no snapshot). Taken from `published/CURRENT` without opening the snapshot, so a cached answer
        costs no connection; the connection, once opened, is checked to read that snapshot."""
        if self._cache_key is None:
            if not cache.enabled():
                ident = None
            elif self._own:
                ident = cache.current_identity()
                if ident and self._con is not None and not cache.reads_snapshot(self._con, ident):
                    ident = None
            else:
                ident = cache.snapshot_identity(self._con)
            self._cache_key = (ident, self.scope.key) if ident else ()
        return self._cache_key or None

    def memo(self, name: str, args: tuple, compute, shared: bool = False, store=None):
        """`compute()`, cached by (snapshot, scope, name, args): exact, since a snapshot never changes.
        The caller gets its own copy of a frame, list or dict (it may change it); `shared=True` hands
        out the cached object itself (read-only structures, e.g. the org index). `store`: default
        `cache.results`."""
        key = self.cache_key
        if key is None:
            return compute()

        def checked():
            value = compute()
            if self._stale:
                raise cache.NotCached(value)
            return value

        value = (cache.results if store is None else store).get((*key, name, args), checked)
        return value if shared else cache.private(value)

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def _read_if_present(self, schema: str, table: str, sql: str, params: list | None = None) -> pd.DataFrame:
        """`sql` (a query on schema.table), or an empty frame when the snapshot has no such table."""
        return self.df(sql, params) if self.has(schema, table) else pd.DataFrame()

    def tables(self) -> set[tuple[str, str]]:
        if self._tables is None:

            def read():
                rows = self.con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
                return frozenset((s, n) for s, n in rows)

            self._tables = self.memo("tables", (), read)
        return self._tables

    def has(self, schema: str, table: str) -> bool:
        return (schema, table) in self.tables()

    def columns(self, schema: str, table: str) -> list[str]:
        def read():
            # duckdb_columns(), not information_schema.columns (which builds every column of the catalog)
            rows = self.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, table],
            ).fetchall()
            return [r[0] for r in rows]

        return self.memo("columns", (schema, table), read)
