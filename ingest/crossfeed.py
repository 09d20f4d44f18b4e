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
_OPEN_DATE = "DATE '9999-12-31'"
_CITY4 = "(SELECT list(DISTINCT left(code, 4) ORDER BY left(code, 4)) FROM ref_city)"


# The codes a `ref:` of the contract allows, as subqueries over the ref_* tables.
_REF_SETS = {
    "facility": ("SELECT facility_id FROM ref_facilities",),
    "community": ("SELECT community_id FROM ref_communities",),
    "county_of_city": ("SELECT code FROM ref_counties",),
    "township_of_city": ("SELECT code FROM ref_townships",),
    "county_or_city": ("SELECT code FROM ref_counties", "SELECT code FROM ref_city", "SELECT code FROM ref_province"),
    "kpi_scored": ("SELECT code FROM ref_kpis WHERE direction <> 'none'",),
    "kpi_family_e": ("SELECT code FROM ref_kpis WHERE family = 'E'",),
}


def _ref_bad(ref: str, col: str) -> str:
    c = f't."{col}"'
    if ref not in _REF_SETS:
        raise ValueError(f"unknown ref {ref}")
    inner = " OR ".join(f"{c} IN ({q})" for q in _REF_SETS[ref])
    return f"({c} IS NOT NULL AND NOT coalesce(({inner}), false))"


def build_peers(con: duckdb.DuckDBPyConnection, feed: str, scratches: list[str]) -> None:
    """Every scratch of a reference feed gets table `peers` = typed rows of all the feed's files."""
    cols = _cols(feed)
    union = " UNION ALL ".join(
        f"SELECT {i} AS _file_idx, _row_number, {cols} FROM {s}.typed" for i, s in enumerate(scratches)
    )
    for i, s in enumerate(scratches):
        con.execute(f"CREATE OR REPLACE TABLE {s}.peers AS {union}")
        con.execute(f"CREATE OR REPLACE TABLE {s}.self_idx AS SELECT {i} AS i")


def _overlap_sql(key: str, lo: str, hi: str, hi_open: str, extra_eq: tuple[str, ...] = ()) -> str:
    eqs = " AND ".join([f'p."{key}" = t."{key}"'] + [f'p."{c}" IS NOT DISTINCT FROM t."{c}"' for c in extra_eq])
    return (
        f"EXISTS (SELECT 1 FROM peers p WHERE {eqs} "
        f"AND NOT (p._file_idx = (SELECT i FROM self_idx) AND p._row_number = t._row_number) "
        f'AND p."{lo}" IS NOT NULL AND t."{lo}" IS NOT NULL '
        f'AND p."{lo}" <= coalesce(t."{hi}", {hi_open}) AND t."{lo}" <= coalesce(p."{hi}", {hi_open}))'
    )


def helper_columns(feed_name: str) -> tuple[list[str], list[str]]:
    """(select expressions, joins) adding the helper columns of a feed to `typed t`."""
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
        if col.ref:
            sel.append(f'{_ref_bad(col.ref, col.name)} AS "_ref_bad__{col.name}"')
        if col.unique:
            sel.append(
                f'(t."{col.name}" IS NOT NULL AND (SELECT count(*) FROM peers p WHERE p."{col.name}" = t."{col.name}") > 1) '
                f'AS "_nonunique__{col.name}"'
            )
    if feed_name == "regions":
        joins.append(
            "LEFT JOIN (SELECT region_code AS pc, any_value(level) AS plevel FROM peers GROUP BY region_code) pr "
            "ON pr.pc = t.parent_code"
        )
        sel += [
            "pr.plevel AS _parent_level",
            "(SELECT count(*) FROM peers WHERE level = 'city') AS _city_count",
            "(SELECT count(*) FROM peers WHERE level = 'province') AS _province_count",
        ]
    if feed_name == "facilities":
        joins.append(
            "LEFT JOIN (SELECT code, any_value(county) AS county FROM ref_townships GROUP BY code) tw ON tw.code = t.township_code"
        )
        sel += [
            "tw.code IS NOT NULL AND tw.county = t.county_code AS _twp_ok",
            "(t.parent_facility_id IS NULL OR t.parent_facility_id IN (SELECT facility_id FROM peers)) AS _parent_ok",
        ]
    if feed_name == "communities":
        joins.append(f"LEFT JOIN {_FAC} lf ON lf.facility_id = t.lead_facility_id")
        sel.append("(lf.facility_id IS NOT NULL AND lf.tier = 'county' AND lf.county_code = t.county_code) AS _lead_ok")
    if feed_name == "memberships":
        sel.append(_overlap_sql("facility_id", "valid_from", "valid_to", _OPEN_DATE) + " AS _overlap")
    if feed_name == "catchments":
        sel.append(_overlap_sql("township_code", "valid_from", "valid_to", _OPEN_DATE) + " AS _overlap")
    if feed_name == "targets":
        joins.append(
            "LEFT JOIN (SELECT code, any_value(direction) AS direction FROM ref_kpis GROUP BY code) k ON k.code = t.kpi_code"
        )
        sel += [
            "k.direction AS _kpi_direction",
            f"{_overlap_sql('kpi_code', 'year_from', 'year_to', '99999', ('org_level', 'org_id', 'period_type'))} AS _overlap",
        ]
    if feed_name == "reported_indicators":
        joins.append(
            "LEFT JOIN (SELECT code, any_value(family) AS family, any_value(unit) AS unit FROM ref_kpis GROUP BY code) k "
            "ON k.code = t.indicator_code"
        )
        sel += ["k.unit AS _kpi_unit"]
    if feed_name == "encounters":
        sel.append("{city4} AS _city4")
    return sel, joins


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
    if feed_name == "encounters":  # a constant: computed once, not per row
        # the first 4 digits of the city, or of every city of the province ("inside the city")
        city4 = con.execute(f"SELECT {_CITY4}").fetchone()[0] or []
        lit = "[" + ", ".join(f"'{c}'" for c in city4 if c.isdigit()) + "]::VARCHAR[]"
        sel = [x.replace("{city4}", lit) for x in sel]
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
