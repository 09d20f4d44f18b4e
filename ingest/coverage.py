"""Coverage keys and identities of the activity feeds (feeds.md "Activity feeds").

Both are SQL expressions over a table with the feed's canonical columns (`typed` in the
scratch DB, or `raw.<feed>` in the warehouse); coverage keys may also use the helper column
`_fac_county` (the facility's registry county), which only `typed` has.

Coverage key text (stored in `raw.<feed>._coverage_key` and `audit.replacements`):
`<county or community>:<YYYY-MM>` for monthly keys, `<…>:<YYYY>` for yearly keys, `<YYYY>`
for phs_weights, `all` for reference snapshots.
"""

from __future__ import annotations

from medcom.contract import load_contract


def _m(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m')"


COVERAGE_SQL: dict[str, str] = {
    "township_county_year": "left(township_code, 6) || ':' || CAST(year AS VARCHAR)",
    "year": "CAST(year AS VARCHAR)",
    "insured_county_month": "left(insured_township_code, 6) || ':' || "
    + _m("CASE WHEN encounter_type = 'inpatient' THEN discharge_date ELSE visit_date END"),
    "facility_county_month": "_fac_county || ':' || " + _m("month"),
    "community_year": "community_id || ':' || CAST(year AS VARCHAR)",
    "community_month": "community_id || ':' || " + _m("month"),
    "facility_county_planned_month": "_fac_county || ':' || " + _m("planned_month"),
    "facility_county_decided_month": "_fac_county || ':' || " + _m("decided_date"),
    "county_received_month": "county_code || ':' || " + _m("received_date"),
    "county_year": "county_code || ':' || CAST(year AS VARCHAR)",
    "region_year": "region_code || ':' || CAST(year AS VARCHAR)",
}

# identity parts that are not canonical columns
DERIVED = {"insured_county": "left({p}insured_township_code, 6)"}

REFERENCE_KEY = "all"


def coverage_sql(feed_name: str) -> str:
    feed = load_contract().feeds[feed_name]
    if feed.is_reference or not feed.coverage:
        return f"'{REFERENCE_KEY}'"
    return COVERAGE_SQL[feed.coverage]


def identity_parts(feed_name: str, prefix: str = "") -> list[str]:
    """The identity's parts as SQL expressions (empty for additive feeds)."""
    feed = load_contract().feeds[feed_name]
    return [DERIVED[c].format(p=prefix) if c in DERIVED else f'{prefix}"{c}"' for c in feed.identity]


def identity_sql(feed_name: str, prefix: str = "") -> str | None:
    """Identity of a row as one VARCHAR (parts joined by U+001F); None for additive feeds."""
    feed = load_contract().feeds[feed_name]
    if not feed.identity:
        return None
    parts = []
    for c in feed.identity:
        expr = DERIVED[c].format(p=prefix) if c in DERIVED else f'{prefix}"{c}"'
        parts.append(f"coalesce(CAST({expr} AS VARCHAR), '')")
    return "concat_ws(chr(31), " + ", ".join(parts) + ")"


def _org_county_sql(feed_name: str) -> str:
    """The county of a coverage key's org (communities through their county)."""
    cov = load_contract().feeds[feed_name].coverage or ""
    if cov.startswith("community"):
        return "(SELECT any_value(county_code) FROM temp.ref_communities c WHERE c.community_id = k.org)"
    if cov == "year":
        return "CAST(NULL AS VARCHAR)"
    return "k.org"


def coverage_rows(con, feed_name: str, accepted: bool) -> list[tuple]:
    """(org, county, period, rows_loaded, rows_quarantined) per coverage key of scratch `typed`
    (rows in `reasons` are quarantined; a rejected file loads none). Reference feeds: none."""
    feed = load_contract().feeds[feed_name]
    if feed.is_reference or not feed.coverage:
        return []
    org = "CASE WHEN strpos(_coverage_key, ':') > 0 THEN split_part(_coverage_key, ':', 1) END"
    period = "CASE WHEN strpos(_coverage_key, ':') > 0 THEN split_part(_coverage_key, ':', 2) ELSE _coverage_key END"
    loaded = "count(*) FILTER (WHERE r._row_number IS NULL)" if accepted else "0"
    return con.execute(
        f"""SELECT k.org, {_org_county_sql(feed_name)}, k.period, k.loaded, k.quarantined FROM (
              SELECT {org} AS org, {period} AS period, {loaded} AS loaded,
                     count(*) FILTER (WHERE r._row_number IS NOT NULL) AS quarantined
              FROM typed t LEFT JOIN reasons r USING (_row_number)
              WHERE t._coverage_key IS NOT NULL GROUP BY ALL) k
            ORDER BY k.period, k.org"""
    ).fetchall()
