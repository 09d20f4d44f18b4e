"""`source` (VARCHAR) → `typed` (raw-layer types), all in SQL inside the scratch DuckDB.

Table `typed` has, for every contract column of the feed:
- `<col>`: the typed value (architecture.md raw-layer types); a value that does not parse
  becomes NULL; an empty value takes the contract default (if any);
- `<col>__src`: the original text (trimmed; NULL when empty or the column is absent);
plus `_row_number` and `_shape_error` (from the reader).

Accepted value forms (feeds.md "Values"):
- date: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY-MM-DD 00:00:00` (Excel date cell),
  an Excel serial number (1–99999, optionally `.0`);
- month: `YYYY-MM`, `YYYYMM`, or the first day of the month as a date → first day;
- year: `YYYY` (optionally `.0`); int: whole number (optionally `.0…`);
- money: at most 2 decimals (trailing zeros beyond are fine); number: decimal/exponent;
- bool: true/false/1/0/是/否/Y/N (and yes/no), case-insensitive;
- enum: the code or any Chinese label (NFKC-normalised, case-insensitive).
"""

from __future__ import annotations

import duckdb

from medcom.contract import Column, Feed, load_contract, normalise_label


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


_DATE_ISO = r"\d{4}-\d{1,2}-\d{1,2}"
_DATE_SLASH = r"\d{4}/\d{1,2}/\d{1,2}"
_DATE_TIME0 = r"\d{4}-\d{1,2}-\d{1,2}[ T]00:00(:00(\.0+)?)?"


def date_expr(v: str) -> str:
    return (
        f"(CASE WHEN regexp_full_match({v}, '{_DATE_ISO}') THEN try_strptime({v}, '%Y-%m-%d')::DATE "
        f"WHEN regexp_full_match({v}, '{_DATE_SLASH}') THEN try_strptime({v}, '%Y/%m/%d')::DATE "
        f"WHEN regexp_full_match({v}, '\\d{{8}}') THEN try_strptime({v}, '%Y%m%d')::DATE "
        f"WHEN regexp_full_match({v}, '{_DATE_TIME0}') THEN try_strptime(split_part(split_part({v}, ' ', 1), 'T', 1), '%Y-%m-%d')::DATE "
        f"WHEN regexp_full_match({v}, '[1-9]\\d{{0,4}}(\\.0+)?') "
        f"THEN DATE '1899-12-30' + CAST(split_part({v}, '.', 1) AS INTEGER) END)"
    )


def month_expr(v: str) -> str:
    return (
        f"(CASE WHEN regexp_full_match({v}, '\\d{{4}}-\\d{{1,2}}') THEN try_strptime({v} || '-01', '%Y-%m-%d')::DATE "
        f"WHEN regexp_full_match({v}, '\\d{{6}}') THEN try_strptime({v} || '01', '%Y%m%d')::DATE "
        f"WHEN regexp_full_match({v}, '\\d{{4}}[-/]\\d{{1,2}}[-/]0?1([ T]00:00(:00(\\.0+)?)?)?') "
        f"THEN try_strptime(replace(split_part(split_part({v}, ' ', 1), 'T', 1), '/', '-'), '%Y-%m-%d')::DATE END)"
    )


def type_expr(col: Column, v: str, enum_case: str | None = None) -> str:
    t = col.type
    if t in ("text", "code"):
        return v
    if t == "enum" or t == "bool":
        return enum_case or "NULL"
    if t == "date":
        return date_expr(v)
    if t == "month":
        return month_expr(v)
    if t == "year":
        return f"(CASE WHEN regexp_full_match({v}, '\\d{{4}}(\\.0+)?') THEN CAST(left({v}, 4) AS INTEGER) END)"
    if t == "int":
        return (
            f"(CASE WHEN regexp_full_match({v}, '[+-]?\\d{{1,18}}(\\.0+)?') "
            f"THEN TRY_CAST(split_part({v}, '.', 1) AS BIGINT) END)"
        )
    if t == "money":
        return (
            f"(CASE WHEN regexp_full_match({v}, '[+-]?(\\d{{1,16}}(\\.\\d{{0,2}}0*)?|\\.\\d{{1,2}}0*)') "
            f"THEN TRY_CAST({v} AS DECIMAL(18,2)) END)"
        )
    if t == "number":
        return (
            f"(CASE WHEN regexp_full_match({v}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?') "
            f"THEN TRY_CAST({v} AS DOUBLE) END)"
        )
    raise ValueError(f"unknown type {t}")


def default_sql(col: Column) -> str | None:
    if col.default is None:
        return None
    d = col.default
    if col.type in ("money",):
        return f"CAST({lit(d)} AS DECIMAL(18,2))"
    if col.type in ("int",):
        return f"CAST({lit(d)} AS BIGINT)"
    if col.type == "number":
        return f"CAST({lit(d)} AS DOUBLE)"
    if col.type == "bool":
        return "true" if str(d).lower() == "true" else "false"
    return lit(str(d))


def _mapping_case(con: duckdb.DuckDBPyConnection, col: Column, v: str) -> str:
    """CASE expression mapping each distinct value of the column to its canonical code / bool."""
    contract = load_contract()
    if col.type == "bool":
        lookup = {k: ("true" if b else "false") for k, b in contract.bool_lookup().items()}
    else:
        lookup = {k: lit(code) for k, code in contract.enum_lookup(col.enum).items()}
    values = [
        r[0] for r in con.execute(f"SELECT DISTINCT {v} FROM source s WHERE {v} IS NOT NULL LIMIT 100000").fetchall()
    ]
    whens = []
    for val in values:
        hit = lookup.get(normalise_label(val))
        if hit is not None:
            whens.append(f"WHEN {lit(val)} THEN {hit}")
    if not whens:
        return "CAST(NULL AS BOOLEAN)" if col.type == "bool" else "CAST(NULL AS VARCHAR)"
    return f"(CASE {v} " + " ".join(whens) + " END)"


def typed_select(
    con: duckdb.DuckDBPyConnection,
    feed_name: str,
    present: list[str] | None = None,
    pid_maps: dict[str, str] | None = None,
) -> str:
    """SELECT over table `source` giving the rows of `typed` (see module doc).

    Pseudonymised columns (contract `pseudonymise`) and their `__src` carry the HMAC instead of
    a resident ID, computed in this SELECT (`ingest.pseudonymise.pseudonymise_sql`); `pid_maps`
    (a column → `_pid_map_*` table from `build_pid_map`) uses a precomputed map instead.
    """
    from ingest.pseudonymise import key_table, pseudonymise_sql, pseudonymised_expr

    feed: Feed = load_contract().feeds[feed_name]
    src_cols = {r[0] for r in con.execute("DESCRIBE source").fetchall()}
    typed_parts: list[str] = []
    src_parts: list[str] = []
    joins: list[str] = []
    hashed: list[str] = []
    for i, col in enumerate(feed.columns.values()):
        have = col.name in src_cols and (present is None or col.name in present)
        if have:
            v = f"NULLIF(trim(s.{q(col.name)}), '')"
            if pid_maps and col.name in pid_maps:
                alias = f"_pm{i}"
                joins.append(f"LEFT JOIN {pid_maps[col.name]} {alias} ON {alias}.v = upper(trim(s.{q(col.name)}))")
                v = pseudonymised_expr(f"s.{q(col.name)}", alias)
            elif col.pseudonymise:  # hashed once, in the subquery below (`v` is used twice)
                key_table(con)
                hashed.append(f"{pseudonymise_sql(q(col.name))} AS {q(col.name)}")
            enum_case = _mapping_case(con, col, v) if col.type in ("enum", "bool") else None
            expr = type_expr(col, v, enum_case)
        else:
            v = "CAST(NULL AS VARCHAR)"
            expr = "NULL"
        dflt = default_sql(col)
        # inspections: published / full_record are false when the inspection is not done
        if feed_name == "inspections" and col.name in ("published", "full_record"):
            done = "NULLIF(trim(s.completed_date), '')" if "completed_date" in src_cols else "NULL"
            expr = f"(CASE WHEN {v} IS NULL AND {done} IS NULL THEN false ELSE {expr} END)"
        elif dflt is not None:
            expr = f"(CASE WHEN {v} IS NULL THEN {dflt} ELSE {expr} END)"
        typed_parts.append(f"CAST({expr} AS {col.duckdb_type}) AS {q(col.name)}")
        src_parts.append(f"{v} AS {q(col.name + '__src')}")
    shape = "s._shape_error" if "_shape_error" in src_cols else "CAST(NULL AS VARCHAR)"
    source = f"(SELECT * REPLACE ({', '.join(hashed)}) FROM source)" if hashed else "source"
    return (
        "SELECT "
        + ", ".join(typed_parts + src_parts)
        + f", s._row_number AS _row_number, {shape} AS _shape_error FROM {source} s "
        + " ".join(joins)
    )


def build_typed(
    con: duckdb.DuckDBPyConnection,
    feed_name: str,
    present: list[str] | None = None,
    pid_maps: dict[str, str] | None = None,
) -> None:
    """Create table `typed` from table `source` (both in `con`'s current database)."""
    con.execute("CREATE OR REPLACE TABLE typed AS " + typed_select(con, feed_name, present, pid_maps))
