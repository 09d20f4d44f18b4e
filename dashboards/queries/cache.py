"""Exact caches for the dashboard: what was read from a published snapshot, kept per snapshot and scope.

A published snapshot never changes (`warehouse.publish` writes a new file and repoints
`published/CURRENT`), so anything computed from one is valid for as long as that snapshot is read.
Every entry is keyed by

    (the snapshot's identity, the viewer's scope, what was computed, its parameters)

- the snapshot's identity is the file the request's connection actually reads (asked of the
  connection, not of `CURRENT`, so a publish between the two cannot mislabel an entry) with its
  inode, size and modification time: a new snapshot is a new key, and the old entries simply
  age out of the LRU;
- the scope is always part of the key, so an answer computed for one scope is never served to
  another (a county viewer never sees a cached city answer, and the other way round).

Two bounded LRU stores (cachetools), per process:
- `results`: query results and the frames derived from them (`Reader.memo`), e.g. the org tree
  and its lineage index, the KPI catalogue, the months, the table and column lists;
- `views`: whole page bodies (`frame.render_view` for pages registered with `cache=True`), kept
  as the JSON data Dash sends (`Serialised`), bounded by their JSON size.

Concurrent requests for the same missing key compute it once (the others wait for it), so a
new snapshot under load costs one computation per view, not one per user.

Settings: `MEDCOM_DASHBOARD_CACHE=0` turns both off (every request reads the snapshot, as
before); `MEDCOM_DASHBOARD_CACHE_RESULTS` (default 2048 entries) and
`MEDCOM_DASHBOARD_CACHE_VIEWS_MB` (default 64 MB of page JSON) bound them, per worker process.

Connections: `keep_open(path)` keeps one idle read-only connection per snapshot file in use, so
DuckDB keeps that database open (its catalog and cached blocks) and a request's own connection
costs ~1 ms instead of re-opening the file (~50 ms); when a new snapshot appears the idle
connections to older files are closed (requests still reading them keep their own).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import threading
from collections.abc import Callable, Hashable
from typing import Any

import cachetools
import duckdb
import pandas as pd

_MISSING = object()


class NotCached(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a computation whose value must be returned but not stored (see `Store.get`)."""

    def __init__(self, value: Any):
        self.value = value


def enabled() -> bool:
    return os.environ.get("MEDCOM_DASHBOARD_CACHE", "1") != "0"


class Store:
    """A bounded LRU of computed values with one computation per missing key at a time."""

    def __init__(self, name: str, maxsize: int, getsizeof: Callable[[Any], int] | None = None):
        self.name = name
        self._lru: cachetools.LRUCache = cachetools.LRUCache(maxsize=maxsize, getsizeof=getsizeof)
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            value = self._lru.get(key, _MISSING)
            if value is not _MISSING:
                self.hits += 1
                return value
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:  # the first request computes; concurrent ones for the same key wait for it
            with self._lock:
                value = self._lru.get(key, _MISSING)
                if value is not _MISSING:
                    self.hits += 1
                    return value
                self.misses += 1
            try:
                value = compute()
                with self._lock, contextlib.suppress(ValueError):  # ValueError: larger than the whole cache
                    self._lru[key] = value
            except NotCached as nc:
                return nc.value
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._lru)

    def cached_keys(self) -> list:
        with self._lock:
            return list(self._lru.keys())


class Serialised:
    """A page body turned into plain JSON data once (what Dash would send), so a cached view costs no
    component-tree walk per request; Dash's encoder takes it through `to_plotly_json`."""

    __slots__ = ("tree", "nbytes")

    def __init__(self, component: Any):
        from plotly.io.json import to_json_plotly  # the encoder Dash itself uses (dash._utils.to_json)

        text = to_json_plotly(component)
        self.tree = json.loads(text)
        self.nbytes = len(text)

    def to_plotly_json(self) -> Any:
        return self.tree


results = Store("results", int(os.environ.get("MEDCOM_DASHBOARD_CACHE_RESULTS", "2048")))
views = Store(
    "views",
    int(float(os.environ.get("MEDCOM_DASHBOARD_CACHE_VIEWS_MB", "64")) * 2**20),
    getsizeof=lambda v: getattr(v, "nbytes", 1),
)


def clear() -> None:
    """Empty both stores (tests, benchmarks' cold runs)."""
    results.clear()
    views.clear()


def _identity(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{os.path.realpath(path)}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _path_of(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return os.path.realpath(row[0]) if row and row[0] else None


def snapshot_identity(con: duckdb.DuckDBPyConnection) -> str | None:
    """'<file>:<inode>:<size>:<mtime ns>' of the database `con` reads, or None (in-memory: not cacheable)."""
    path = _path_of(con)
    return _identity(path) if path else None


def current_identity() -> str | None:
    """The identity of the snapshot `published/CURRENT` names (no connection needed), or None."""
    from warehouse import current_snapshot

    snap = current_snapshot()
    return _identity(str(snap)) if snap is not None else None


def reads_snapshot(con: duckdb.DuckDBPyConnection, identity: str) -> bool:
    """Does `con` read the snapshot of `identity` — its file, or a scoped copy published with it?"""
    path = _path_of(con)
    if path is None:
        return False
    snap = identity.rsplit(":", 3)[0]
    if path == snap:
        return _identity(path) == identity
    return _snapshot_root(path) == _snapshot_root(snap) != snap and _identity(snap) == identity


def private(value: Any) -> Any:
    """A copy the caller may change without changing the cached value (frames, lists, dicts)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy()
    if isinstance(value, list | dict | set):
        return copy.deepcopy(value)
    return value


# -- connections ----------------------------------------------------------------------------
_keepers: dict[str, duckdb.DuckDBPyConnection] = {}
_keepers_lock = threading.Lock()
MAX_KEEPERS = 16  # the full snapshot and the scoped copies in use


def keep_open(con: duckdb.DuckDBPyConnection, opener: Callable[[], duckdb.DuckDBPyConnection]) -> None:
    """Keep one idle connection to the file `con` reads (opened with `opener`, the same settings), and
    close the idle ones of files no longer current (a file not in the same published folder tree
    as the newest one, or beyond MAX_KEEPERS)."""
    if not enabled():
        return
    path = _path_of(con)
    if path is None:
        return
    with _keepers_lock:
        if path in _keepers:
            return
    keeper = opener()
    if _path_of(keeper) != path:  # a publish in between: keep nothing this time
        keeper.close()
        return
    with _keepers_lock:
        if path in _keepers:
            keeper.close()
            return
        _keepers[path] = keeper
        stale = [p for p in _keepers if _snapshot_root(p) != _snapshot_root(path)]
        stale += [p for p in list(_keepers)[: max(0, len(_keepers) - MAX_KEEPERS)] if p not in stale]
        for p in stale:
            if p != path:
                with contextlib.suppress(Exception):
                    _keepers.pop(p).close()


_ROOT = re.compile(r"^(?:\.scopes-)?(warehouse-.+?)(?:\.duckdb)?$")


def _snapshot_root(path: str) -> str:
    """The published snapshot a file belongs to (`published/warehouse-<ts>`): the same for the full
    file and its scoped copies (`…/warehouse-<ts>/scopes/<scope>/…`, or `.scopes-warehouse-<ts>/…`
    beside a bare snapshot file); else the file itself."""
    parts = path.split(os.sep)
    for i, part in enumerate(parts):
        m = _ROOT.match(part)
        if m:
            return os.sep.join([*parts[:i], m.group(1)])
    return path


def close_kept() -> None:
    """Close every idle connection (tests)."""
    with _keepers_lock:
        for con in _keepers.values():
            with contextlib.suppress(Exception):
                con.close()
        _keepers.clear()
