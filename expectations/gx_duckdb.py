"""The one place where medcom patches great-expectations for DuckDB.

Upstream problem: GX's SQL datasource opens a new SQLAlchemy connection per metric query and
closes it before the results are read. On DuckDB (duckdb-engine) the results of a closed
connection are gone, so every metric comes back empty (row counts `None`, unexpected counts
missing, expectations "fail" without a reason).

Fix: GX already keeps one persisted connection (and a `StaticPool` engine) for dialects
listed in `great_expectations.execution_engine.sqlalchemy_execution_engine.
_PERSISTED_CONNECTION_DIALECTS` (sqlite, mssql, ...). We add `duckdb` to that tuple. The
entries are compared two ways by GX: `dialect_name in _PERSISTED_CONNECTION_DIALECTS`
(string equality) and `connection_string.startswith(entry.value)`; `_DuckDBDialect` below
supports both.

`apply()` is idempotent. `check()` raises `GXPatchBroken` when GX changed under us (the
attribute is gone or no longer a tuple); tests/test_expectations.py also checks that the
patched GX really returns metrics on DuckDB, so an upgrade that breaks the fix fails a test.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings

_LOCK = threading.Lock()
_MODULE = "great_expectations.execution_engine.sqlalchemy_execution_engine"
_ATTR = "_PERSISTED_CONNECTION_DIALECTS"


class GXPatchBroken(RuntimeError):
    """great-expectations no longer has what the DuckDB patch relies on."""


class _DuckDBDialect:
    """Stands for the `duckdb` dialect in GX's tuple of persisted-connection dialects."""

    value = "duckdb"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other.lower() == self.value
        if isinstance(other, bytes):
            return other.decode("utf-8", "replace").lower() == self.value
        return str(getattr(other, "value", "")).lower() == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return "<medcom DuckDB persisted-connection dialect>"


DUCKDB = _DuckDBDialect()


def _engine_module():
    import importlib

    try:
        return importlib.import_module(_MODULE)
    except ImportError as exc:  # pragma: no cover - GX moved the module
        raise GXPatchBroken(f"great-expectations has no module {_MODULE}: {exc}") from exc


def check() -> tuple:
    """The current tuple, after verifying it still has the shape the patch relies on."""
    mod = _engine_module()
    current = getattr(mod, _ATTR, None)
    if not isinstance(current, tuple):
        raise GXPatchBroken(f"{_MODULE}.{_ATTR} is missing or not a tuple (great-expectations changed)")
    for entry in current:
        if not isinstance(getattr(entry, "value", None), str):
            raise GXPatchBroken(f"{_MODULE}.{_ATTR} entries no longer have a string .value")
    return current


def is_applied() -> bool:
    return any(entry == "duckdb" for entry in check())


def apply() -> None:
    """Make GX keep one persisted connection for DuckDB (idempotent, thread-safe)."""
    with _LOCK:
        current = check()
        if any(entry == "duckdb" for entry in current):
            return
        setattr(_engine_module(), _ATTR, (*current, DUCKDB))


_context = None


def import_gx():
    """`great_expectations`, imported without the FutureWarning pyspark prints when the Spark
    extra is installed (GX imports pyspark.sql.connect if it can, and pyspark warns about the
    pandas version); ingest's output stays its verdicts."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
        import great_expectations as gx
    return gx


def context():
    """The process's ephemeral GX context (patch applied, no progress bars, no analytics).

    Creating a context costs about a second, so it is made once and reused; `validate` adds
    and removes one datasource per call.
    """
    global _context
    apply()
    with _LOCK:
        if _context is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            gx = import_gx()
            from great_expectations.data_context.types.base import ProgressBarsConfig

            logging.getLogger("great_expectations").setLevel(logging.ERROR)
            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            with contextlib.suppress(Exception):  # no usage analytics (offline service)
                ctx.enable_analytics(False)
            _context = ctx
        return _context
