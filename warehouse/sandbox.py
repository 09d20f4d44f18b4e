"""The analysts' SQL sandbox: read-only, no server files, one statement, time and row limits.

Layers of defence, each enough on its own for its threat:
1. the statement must parse as exactly one SELECT-like statement (SELECT / WITH / DESCRIBE /
   SHOW / SUMMARIZE / EXPLAIN / PRAGMA of a read-only kind) — no DDL, DML, COPY, ATTACH,
   INSTALL, LOAD, SET, EXPORT, CALL;
2. the connection is opened read-only on the published snapshot, never on the writer file;
3. `enable_external_access=false` (no read_csv/read_parquet/glob/httpfs on the server's
   files) and `lock_configuration=true`, so a query cannot switch them back on;
4. a timer interrupts a query that runs past its time limit; results are cut at the row limit.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import duckdb

from medcom.errors import MedcomError

DEFAULT_MAX_ROWS = 10_000
DEFAULT_TIMEOUT = 30.0

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_SAFE_PRAGMAS = ("table_info", "show_tables", "show_tables_expanded", "database_list", "version", "show")


class QueryRejected(MedcomError):
    """The query is not allowed or failed; the message says why in plain words."""

    exit_code = 1


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool
    elapsed: float
    types: list[str] = field(default_factory=list)


def check_statement(sql: str) -> str:
    """Return the single allowed statement, or raise QueryRejected."""
    text = (sql or "").strip()
    if not text:
        raise QueryRejected("empty query")
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise QueryRejected(f"SQL syntax error: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryRejected(f"one statement at a time, please (found {len(statements)})")
    stmt = statements[0]
    if stmt.type == duckdb.StatementType.PRAGMA:
        body = stmt.query.strip().rstrip(";").split(None, 1)[-1].lower()
        if not body.startswith(_SAFE_PRAGMAS):
            raise QueryRejected("only read-only PRAGMAs (table_info, show_tables, database_list) are allowed")
    elif stmt.type not in _ALLOWED:
        kind = stmt.type.name.replace("_", " ")
        raise QueryRejected(f"read-only: {kind} statements are not allowed here (only SELECT queries)")
    return text


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_query(sql: str, max_rows: int = DEFAULT_MAX_ROWS, timeout: float = DEFAULT_TIMEOUT, scope=None) -> QueryResult:
    """Run one read-only query over the published warehouse — for a `scope` below the whole warehouse, over
    that scope's snapshot (`medcom.access.snapshots`), which holds no other rows."""
    from medcom.access.scope import Scope
    from medcom.access.snapshots import connect_scoped

    text = check_statement(sql)
    if max_rows < 1:
        raise QueryRejected("--max-rows must be at least 1")
    con = connect_scoped(scope or Scope())
    timed_out = threading.Event()

    def _stop() -> None:
        timed_out.set()
        con.interrupt()

    timer = threading.Timer(timeout, _stop)
    started = time.perf_counter()
    timer.start()
    try:
        cur = con.execute(text)
        columns = [d[0] for d in cur.description] if cur.description else []
        types = [str(d[1]) for d in cur.description] if cur.description else []
        rows = cur.fetchmany(max_rows + 1)
    except (duckdb.InterruptException, KeyboardInterrupt):
        raise QueryRejected(f"query stopped: it ran longer than the {timeout:g} s time limit") from None
    except duckdb.Error as exc:
        if timed_out.is_set():
            raise QueryRejected(f"query stopped: it ran longer than the {timeout:g} s time limit") from None
        msg = _first_line(exc)
        if "external access" in msg.lower() or "disabled by configuration" in msg.lower():
            msg = "reading or writing files on the server is not allowed here"
        raise QueryRejected(msg) from None
    finally:
        timer.cancel()
        con.close()
    truncated = len(rows) > max_rows
    return QueryResult(columns, rows[:max_rows], truncated, time.perf_counter() - started, types)
