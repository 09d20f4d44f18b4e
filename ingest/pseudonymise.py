"""Pseudonymise resident ID numbers (feeds.md "Personal data").

After trimming and upper-casing, a value matching `^\\d{17}[\\dX]$` or `^\\d{15}$` is
replaced by the hex HMAC-SHA256 of that normalised value, keyed with
`medcom.settings.secret()`. Other values keep their (trimmed) text.

The work is done in DuckDB, in the same pass that types the rows: HMAC-SHA256 is
SHA256((K ^ opad) || SHA256((K ^ ipad) || m)) (RFC 2104), and DuckDB's vectorised `sha256`
computes both hashes (`hmac_sql`). The two padded keys sit in a temp table of the connection
(`key_table`), never in the SQL text. The Python `hmac` twin (`pseudonymise_value`) gives
the same hex digests (tested).
"""

from __future__ import annotations

import hashlib
import hmac
import re

import duckdb
import pyarrow as pa

from medcom.settings import secret

RESIDENT_ID = r"^(\d{17}[\dX]|\d{15})$"
_RESIDENT_ID_RE = re.compile(RESIDENT_ID)


def hmac_hex(value: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 hex of an already normalised (trimmed, upper-cased) resident ID."""
    return hmac.new(key if key is not None else secret(), value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymise_value(value: str | None, key: bytes | None = None) -> str | None:
    """Python twin of the SQL path (used for single values and in tests)."""
    if value is None:
        return None
    v = value.strip().upper()
    if _RESIDENT_ID_RE.match(v):
        return hmac_hex(v, key)
    return value.strip()


KEY_TABLE = "_medcom_hmac_key"
_BLOCK_SIZE = 64  # SHA-256's block size (RFC 2104 B)


def key_table(con: duckdb.DuckDBPyConnection, key: bytes | None = None) -> str:
    """Create (or refresh) temp table `_medcom_hmac_key(ipad, opad)` for `hmac_sql`; returns its name."""
    k = key if key is not None else secret()
    if len(k) > _BLOCK_SIZE:
        k = hashlib.sha256(k).digest()
    k = k.ljust(_BLOCK_SIZE, b"\0")
    ipad = bytes(b ^ 0x36 for b in k)
    opad = bytes(b ^ 0x5C for b in k)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {KEY_TABLE} (ipad BLOB, opad BLOB)")
    con.execute(f"INSERT INTO temp.{KEY_TABLE} VALUES (?, ?)", [ipad, opad])
    return KEY_TABLE


def hmac_sql(norm_sql: str) -> str:
    """SQL: hex HMAC-SHA256 of the (already normalised) VARCHAR `norm_sql`; needs `key_table`."""
    ipad = f"(SELECT ipad FROM temp.{KEY_TABLE})"
    opad = f"(SELECT opad FROM temp.{KEY_TABLE})"
    return f"sha256({opad} || unhex(sha256({ipad} || encode({norm_sql}))))"


def pseudonymise_sql(column_sql: str) -> str:
    """SQL: the column's value pseudonymised (resident IDs → HMAC hex, others trimmed; '' → NULL)."""
    norm = f"upper(trim({column_sql}))"
    return (
        f"(CASE WHEN regexp_full_match({norm}, '\\d{{17}}[\\dX]|\\d{{15}}') THEN {hmac_sql(norm)} "
        f"ELSE NULLIF(trim({column_sql}), '') END)"
    )


def _udf(key: bytes):
    base = hmac.new(key, digestmod=hashlib.sha256)

    def hash_array(arr):
        out = []
        for v in arr.to_pylist():
            if v is None:
                out.append(None)
            else:
                h = base.copy()
                h.update(v.encode("utf-8"))
                out.append(h.hexdigest())
        return pa.array(out, type=pa.string())

    return hash_array


def build_pid_map(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str | None:
    """Temp table `_pid_map_<column>(v, h)`: normalised resident ID → HMAC hex, for the distinct
    IDs of `table.column`. Returns its name, or None when the column holds no resident ID."""
    col = f'"{column}"'
    norm = f"upper(trim({col}))"
    ids = con.sql(
        f"""SELECT DISTINCT {norm} AS v FROM {table}
        WHERE {col} IS NOT NULL AND regexp_full_match({norm}, '\\d{{17}}[\\dX]|\\d{{15}}')"""
    ).to_arrow_table()
    if ids.num_rows == 0:
        return None
    hashed = _udf(secret())(ids.column("v"))
    mapping = pa.table({"v": ids.column("v"), "h": hashed})
    name = f"_pid_map_{column}"
    view = f"_pid_arrow_{column}"
    con.register(view, mapping)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT v, h FROM {view}")
    finally:
        con.unregister(view)
    return name


def pseudonymised_expr(column_sql: str, map_alias: str) -> str:
    """Value of a pseudonymised column given `LEFT JOIN <map> <map_alias> ON <map_alias>.v = upper(trim(col))`."""
    return f"coalesce({map_alias}.h, NULLIF(trim({column_sql}), ''))"


def pseudonymise_table(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Replace resident IDs in `table.column` in place; returns the number of distinct IDs hashed."""
    name = build_pid_map(con, table, column)
    if name is None:
        return 0
    n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    col = f'"{column}"'
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    select = ", ".join(f"coalesce(_m.h, _s.{col}) AS {col}" if c == column else f'_s."{c}"' for c in cols)
    con.execute(
        f"CREATE OR REPLACE TABLE {table}__p AS SELECT {select} FROM {table} _s "
        f"LEFT JOIN {name} _m ON upper(trim(_s.{col})) = _m.v"
    )
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}__p RENAME TO {table}")
    con.execute(f"DROP TABLE {name}")
    return int(n)
