"""Reference snapshots in the scratch DB and the helper columns the checks use.

`copy_refs(con, wh, scratch)` copies the warehouse's current reference rows into the
scratch catalog (`ref_regions`, `ref_facilities`, `ref_communities`, `ref_kpis`) and
derives `ref_province` (empty without a province), `ref_city` (the city, or every city of the
province), `ref_counties` (counties of any of those cities), `ref_townships`.

`enrich(con, feed)` adds helper columns to table `typed` (all prefixed with `_`):
`_fac_known`, `_fac_county`, `_comm_county`, `_ref_bad__<col>` (cross-feed references),
`_nonunique__<col>`, `_overlap`, rule helpers, `_coverage_key`, `_identity`, `_dup`.
Reference feeds see the rows of every file of the feed in the run as table `peers`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from ingest import rules
from ingest.coverage import coverage_sql, identity_sql
from ingest.errors import FileRejected
from medcom.contract import load_contract

KPI_CATALOGUE_MISSING = "cannot check KPI codes: the KPI catalogue (dbt_project/seeds/kpi_catalogue.csv) is missing"


def kpi_catalogue_path() -> Path:
    from dbt_project import PROJECT_DIR

    return Path(PROJECT_DIR) / "seeds" / "kpi_catalogue.csv"


def load_kpis() -> list[tuple[str, str, str, str]] | None:
    """(code, direction, family, unit) of every KPI of the catalogue seed, or None if missing."""
    p = kpi_catalogue_path()
    if not p.exists():
        return None
    with open(p, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        code = (r.get("kpi_code") or r.get("code") or "").strip()
        if code:
            out.append(
                (
                    code,
                    (r.get("direction") or "").strip(),
                    (r.get("family") or "").strip(),
                    (r.get("unit") or "").strip(),
                )
            )
    return out


def _cols(feed: str) -> str:
    return ", ".join(f'"{c}"' for c in load_contract().feeds[feed].columns)


def copy_refs(con: duckdb.DuckDBPyConnection, wh: str, scratch: str) -> None:
    """Copy current reference rows of catalog `wh` into catalog `scratch` (`temp`: temp tables)."""
    create = "CREATE OR REPLACE TEMP TABLE" if scratch == "temp" else "CREATE OR REPLACE TABLE"
    into = "" if scratch == "temp" else f"{scratch}."
    for feed, table in (
        ("regions", "ref_regions"),
        ("facilities", "ref_facilities"),
        ("communities", "ref_communities"),
    ):
        con.execute(f"{create} {into}{table} AS SELECT {_cols(feed)} FROM {wh}.raw.{feed} WHERE _superseded_by IS NULL")
    con.execute(f"{create} {into}ref_kpis (code VARCHAR, direction VARCHAR, family VARCHAR, unit VARCHAR)")
    kpis = load_kpis()
    if kpis:
        con.executemany(f"INSERT INTO {into}ref_kpis VALUES (?, ?, ?, ?)", kpis)
    con.execute(f"{create} {into}ref_kpis_status AS SELECT {'true' if kpis is not None else 'false'} AS present")
    # The accepted regions snapshot holds one city, or one province and its cities (feeds.md
    # "Codes"); a county belongs to the city whose first 4 digits it shares.
    con.execute(
        f"{create} {into}ref_province AS SELECT region_code AS code FROM {into}ref_regions WHERE level = 'province'"
    )
    con.execute(f"{create} {into}ref_city AS SELECT region_code AS code FROM {into}ref_regions WHERE level = 'city'")
    con.execute(
        f"""{create} {into}ref_counties AS
        SELECT r.region_code AS code, c.code AS city FROM {into}ref_regions r JOIN {into}ref_city c
          ON r.parent_code = c.code AND left(r.region_code, 4) = left(c.code, 4)
        WHERE r.level = 'county'"""
    )
    con.execute(
        f"""{create} {into}ref_townships AS
        SELECT r.region_code AS code, r.parent_code AS county FROM {into}ref_regions r
        JOIN {into}ref_counties c ON r.parent_code = c.code AND left(r.region_code, 6) = c.code
        WHERE r.level = 'township'"""
    )


_FAC = "(SELECT facility_id, any_value(county_code) AS county_code, any_value(tier) AS tier FROM ref_facilities GROUP BY facility_id)"
_COMM = "(SELECT community_id, any_value(county_code) AS county_code FROM ref_communities GROUP BY community_id)"


def build_peers(con: duckdb.DuckDBPyConnection, feed: str, scratches: list[str]) -> None:
    """Every scratch of a reference feed gets table `peers` = typed rows of all the feed's files."""
    cols = _cols(feed)
    union = " UNION ALL ".join(
        f"SELECT {i} AS _file_idx, _row_number, {cols} FROM {s}.typed" for i, s in enumerate(scratches)
    )
    for i, s in enumerate(scratches):
        con.execute(f"CREATE OR REPLACE TABLE {s}.peers AS {union}")
        con.execute(f"CREATE OR REPLACE TABLE {s}.self_idx AS SELECT {i} AS i")


def _feed_helpers(feed_name: str) -> list[rules.Helper]:
    """The helpers of the feed's row rules and references (`ingest.rules`), without repeats."""
    feed = load_contract().feeds[feed_name]
    found: list[rules.Helper] = []
    for col in feed.columns.values():
        if col.ref:
            r = rules.ref(col.ref)
            if not r.parts:
                found.append(rules.Helper(f"_ref_bad__{col.name}", r.bad_sql(col.name)))
            found += [
                rules.Helper(h.name, h.select.replace("{col}", col.name), h.join and h.join.replace("{col}", col.name))
                for h in r.helpers
            ]
    for rule_id in feed.rules:
        found += rules.rule(rule_id, feed_name).helpers
    out: dict[str, rules.Helper] = {}
    for h in found:
        if h.name in out and out[h.name] != h:
            raise ValueError(f"{feed_name}: two different helper columns named {h.name}")
        out[h.name] = h
    return list(out.values())


def helper_columns(feed_name: str) -> tuple[list[str], list[str]]:
    """(select expressions, joins) adding the helper columns of a feed to `typed t`.

    Registry lookups every feed with a `facility_id` / `community_id` gets (`_fac_known`,
    `_fac_county`, `_fac_tier`, `_comm_known`, `_comm_county`: rules and coverage keys use
    them), then per-file uniqueness (`_nonunique__<col>`), then the helpers of the feed's rules
    and references. A constant helper's select is left as `{<name>}` for `enrich` to fill.
    """
    feed = load_contract().feeds[feed_name]
    cols = feed.columns
    sel: list[str] = []
    joins: list[str] = []
    if "facility_id" in cols and feed_name != "facilities":
        joins.append(f"LEFT JOIN {_FAC} f ON f.facility_id = t.facility_id")
        sel += ["f.facility_id IS NOT NULL AS _fac_known", "f.county_code AS _fac_county", "f.tier AS _fac_tier"]
    if "community_id" in cols and feed_name != "communities":
        joins.append(f"LEFT JOIN {_COMM} c ON c.community_id = t.community_id")
        sel += ["c.community_id IS NOT NULL AS _comm_known", "c.county_code AS _comm_county"]
    for col in cols.values():
        if col.unique:
            sel.append(
                f'(t."{col.name}" IS NOT NULL AND (SELECT count(*) FROM peers p WHERE p."{col.name}" = t."{col.name}") > 1) '
                f'AS "_nonunique__{col.name}"'
            )
    for h in _feed_helpers(feed_name):
        sel.append(("{" + h.name + "}" if h.constant else h.select) + f' AS "{h.name}"')
        if h.join and h.join not in joins:
            joins.append(h.join)
    return sel, joins


def _literal(value) -> str:
    """A per-run constant as an SQL literal (lists of text, text, numbers, NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]::VARCHAR[]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def enrich(con: duckdb.DuckDBPyConnection, feed_name: str, base_sql: str | None = None) -> None:
    """(Re)build `typed` with the helper columns, `_coverage_key`, `_identity` and `_dup` (false).

    `base_sql` (from `normalize.typed_select`) builds everything in one pass; without it the
    existing table `typed` is the base.
    """
    feed = load_contract().feeds[feed_name]
    needs_kpis = any(c.ref in ("kpi_scored", "kpi_family_e") for c in feed.columns.values())
    if needs_kpis and not con.execute("SELECT present FROM ref_kpis_status").fetchone()[0]:
        raise FileRejected(KPI_CATALOGUE_MISSING)
    if feed.is_reference:
        if base_sql is not None:
            con.execute("CREATE OR REPLACE TABLE typed AS " + base_sql)
            base_sql = None
        have = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        }
        if "peers" not in have:
            con.execute(
                f"CREATE OR REPLACE TABLE peers AS SELECT 0 AS _file_idx, _row_number, {_cols(feed_name)} FROM typed"
            )
            con.execute("CREATE OR REPLACE TABLE self_idx AS SELECT 0 AS i")
    sel, joins = helper_columns(feed_name)
    for h in _feed_helpers(feed_name):
        if h.constant:  # computed once, not per row
            value = con.execute(f"SELECT {h.select}").fetchone()[0]
            sel = [x.replace("{" + h.name + "}", _literal([] if value is None else value)) for x in sel]
    base = f"({base_sql})" if base_sql else "typed"
    inner = "SELECT t.*" + "".join(", " + x for x in sel) + f" FROM {base} t " + " ".join(joins)
    cov = coverage_sql(feed_name)
    ident = identity_sql(feed_name) or "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TABLE typed_h AS SELECT *, CAST({cov} AS VARCHAR) AS _coverage_key, "
        f"{ident} AS _identity, false AS _dup FROM ({inner})"
    )
    con.execute("DROP TABLE IF EXISTS typed")
    con.execute("ALTER TABLE typed_h RENAME TO typed")
