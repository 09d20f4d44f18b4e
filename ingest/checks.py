"""Row checks derived from the feed contract, and their evaluation on table `typed`.

`compile_checks(feed)` returns the checks in the order that decides a row's one reason:
row shape, then per column (contract order) required / parse / format / allowed code,
then ranges and event dates, then the feed's row rules, then cross-feed references,
then uniqueness (reference feeds), then duplicates within the run.

`invalid_sql` is a boolean SQL expression over table `typed` (after `crossfeed.enrich`),
TRUE when the row breaks the rule; NULL counts as not broken. A reason may contain
`{value}` (the original text of the check's first column) or `{shape_error}`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb

from medcom.contract import Column, load_contract

EARLIEST_EVENT = dt.date(2015, 1, 1)
DUPLICATE_REASON = "duplicate of an earlier row in this run (same identity)"


@dataclass(frozen=True)
class Check:
    id: str  # stable, e.g. "encounters.fund_paid.le_total_cost"
    reason: str  # plain words, e.g. "fund_paid is larger than total_cost"
    invalid_sql: str  # SQL over table `typed`: TRUE when the row breaks the rule
    columns: tuple[str, ...]


def today_shanghai() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


_PARSE_WORDS = {
    "date": "is not a valid date",
    "month": "is not a valid month",
    "year": "is not a valid year",
    "int": "is not a whole number",
    "money": "is not a valid amount",
    "number": "is not a valid number",
    "bool": "is not true/false",
    "enum": "is not an allowed code",
}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _q(c: str) -> str:
    return '"' + c + '"'


def _column_parse_checks(feed: str, col: Column) -> list[Check]:
    c, src = _q(col.name), _q(col.name + "__src")
    out = []
    if col.not_null and col.default is None:
        out.append(
            Check(f"{feed}.{col.name}.required", f"{col.name}: value is required", f"{src} IS NULL", (col.name,))
        )
    if col.type in _PARSE_WORDS:
        out.append(
            Check(
                f"{feed}.{col.name}.parse",
                f"{col.name}: '{{value}}' {_PARSE_WORDS[col.type]}",
                f"{src} IS NOT NULL AND {c} IS NULL",
                (col.name,),
            )
        )
    if col.pattern:
        pat = col.pattern.replace("'", "''")
        out.append(
            Check(
                f"{feed}.{col.name}.pattern",
                f"{col.name}: '{{value}}' does not have the expected format",
                f"{c} IS NOT NULL AND NOT regexp_matches({c}, '{pat}')",
                (col.name,),
            )
        )
    return out


def _column_range_checks(feed: str, col: Column, today: dt.date) -> list[Check]:
    c = _q(col.name)
    out = []
    if col.min is not None:
        out.append(
            Check(f"{feed}.{col.name}.min", f"{col.name}: must be ≥ {_num(col.min)}", f"{c} < {col.min}", (col.name,))
        )
    if col.min_exclusive is not None:
        out.append(
            Check(
                f"{feed}.{col.name}.gt",
                f"{col.name}: must be > {_num(col.min_exclusive)}",
                f"{c} <= {col.min_exclusive}",
                (col.name,),
            )
        )
    if col.max is not None:
        out.append(
            Check(f"{feed}.{col.name}.max", f"{col.name}: must be ≤ {_num(col.max)}", f"{c} > {col.max}", (col.name,))
        )
    if col.event:
        out.append(
            Check(
                f"{feed}.{col.name}.not_before_2015",
                f"{col.name}: date is before {EARLIEST_EVENT.isoformat()}",
                f"{c} < DATE '{EARLIEST_EVENT.isoformat()}'",
                (col.name,),
            )
        )
        out.append(
            Check(
                f"{feed}.{col.name}.not_after_ingest_day",
                f"{col.name}: date is after the day of ingest",
                f"{c} > DATE '{today.isoformat()}'",
                (col.name,),
            )
        )
    return out


def _rule_checks(feed: str, rule: str) -> list[Check]:
    def ck(sub: str, reason: str, sql: str, cols: tuple[str, ...]) -> Check:
        return Check(f"{feed}.{rule}{'.' + sub if sub else ''}", reason, sql, cols)

    R: dict[str, list[Check]] = {
        # regions
        "region_level_matches_code": [
            ck(
                "",
                "level does not match the length of region_code (6 digits for province, city and county, 9 for township)",
                "(level IN ('province', 'city', 'county') AND length(region_code) <> 6) "
                "OR (level = 'township' AND length(region_code) <> 9)",
                ("level", "region_code"),
            ),
            ck(
                "province_code",
                "region_code: '{value}' is not a province code (6 digits ending in 0000)",
                "level = 'province' AND length(region_code) = 6 AND right(region_code, 4) <> '0000'",
                ("region_code",),
            ),
            ck(
                "city_code",
                "region_code: '{value}' is not a city code of a province (6 digits ending in 00)",
                "level = 'city' AND _province_count > 0 AND length(region_code) = 6 AND right(region_code, 2) <> '00'",
                ("region_code",),
            ),
        ],
        "region_parent_exists": [
            ck(
                "province_parent",
                "parent_code: the province must have an empty parent_code",
                "level = 'province' AND parent_code__src IS NOT NULL",
                ("parent_code",),
            ),
            ck(
                "city_parent",
                "parent_code: the city must have an empty parent_code",
                "level = 'city' AND _province_count = 0 AND parent_code__src IS NOT NULL",
                ("parent_code",),
            ),
            ck(
                "required",
                "parent_code: value is required",
                "parent_code__src IS NULL AND (level NOT IN ('province', 'city') OR (level = 'city' AND _province_count > 0))",
                ("parent_code",),
            ),
            ck(
                "exists",
                "parent_code: '{value}' is not in the regions file",
                "parent_code IS NOT NULL AND _parent_level IS NULL",
                ("parent_code",),
            ),
        ],
        "region_single_city": [
            ck(
                "",
                "exactly one region of level city is required",
                "_province_count = 0 AND (_city_count = 0 OR (_city_count > 1 AND level = 'city'))",
                ("level",),
            )
        ],
        "region_single_province": [
            ck(
                "",
                "a second province: one warehouse holds at most one region of level province",
                "_province_count > 1 AND level = 'province'",
                ("level",),
            ),
            ck(
                "has_city",
                "the province has no city: at least one region of level city is required",
                "_province_count = 1 AND _city_count = 0 AND level = 'province'",
                ("level",),
            ),
        ],
        "region_in_city": [
            ck(
                "city_in_province",
                "region_code: city '{value}' is outside the province",
                "level = 'city' AND _parent_level IS NOT NULL "
                "AND (_parent_level <> 'province' OR left(region_code, 2) <> left(parent_code, 2))",
                ("region_code", "parent_code"),
            ),
            ck(
                "",
                "region_code: '{value}' is not inside its parent region",
                "(level = 'county' AND _parent_level IS NOT NULL AND (_parent_level <> 'city' OR left(region_code, 4) <> left(parent_code, 4))) "
                "OR (level = 'township' AND _parent_level IS NOT NULL AND (_parent_level <> 'county' OR left(region_code, 6) <> parent_code))",
                ("region_code", "parent_code"),
            ),
        ],
        # facilities
        "facility_township_in_county": [
            ck(
                "",
                "township_code: '{value}' is not a township of the facility's county",
                "township_code IS NOT NULL AND NOT coalesce(_twp_ok, false)",
                ("township_code", "county_code"),
            )
        ],
        "facility_parent_exists": [
            ck(
                "",
                "parent_facility_id: '{value}' is not in the facility registry",
                "NOT _parent_ok",
                ("parent_facility_id",),
            )
        ],
        "facility_closed_after_opened": [
            ck("", "closed_on is before opened_on", "closed_on < opened_on", ("closed_on", "opened_on"))
        ],
        # communities
        "community_lead_is_county_hospital": [
            ck(
                "",
                "lead_facility_id: '{value}' is not a county-tier facility of the community's county",
                "NOT _lead_ok",
                ("lead_facility_id", "county_code"),
            )
        ],
        # memberships / catchments
        "valid_to_after_from": [
            ck("", "valid_to is before valid_from", "valid_to < valid_from", ("valid_to", "valid_from"))
        ],
        "membership_same_county": [
            ck(
                "",
                "the facility is not in the community's county",
                "_fac_county <> _comm_county",
                ("facility_id", "community_id"),
            )
        ],
        "catchment_same_county": [
            ck(
                "",
                "the township is not in the community's county",
                "left(township_code, 6) <> _comm_county",
                ("township_code", "community_id"),
            )
        ],
        "membership_no_overlap": [
            ck(
                "",
                "overlapping validity with another row for the same facility",
                "_overlap",
                ("facility_id", "valid_from", "valid_to"),
            )
        ],
        "catchment_no_overlap": [
            ck(
                "",
                "overlapping validity with another row for the same township",
                "_overlap",
                ("township_code", "valid_from", "valid_to"),
            )
        ],
        # targets
        "target_org_needs_level": [
            ck(
                "",
                "org_id is given but org_level is empty",
                "org_id IS NOT NULL AND org_level IS NULL",
                ("org_id", "org_level"),
            )
        ],
        "target_years_ordered": [
            ck("", "year_to is before year_from", "year_to < year_from", ("year_to", "year_from"))
        ],
        "target_no_overlap": [
            ck(
                "",
                "overlapping years with another row for the same KPI and scope",
                "_overlap",
                ("kpi_code", "org_level", "org_id", "period_type", "year_from", "year_to"),
            )
        ],
        # activity feeds
        "insured_le_residents": [
            ck(
                "",
                "insured_residents is larger than residents × 1.2",
                "insured_residents > residents * 1.2",
                ("insured_residents", "residents"),
            )
        ],
        "discharge_rule": [
            ck(
                "needed",
                "inpatient encounter needs a discharge_date",
                "encounter_type = 'inpatient' AND discharge_date__src IS NULL",
                ("discharge_date", "encounter_type"),
            ),
            ck(
                "order",
                "discharge_date is before visit_date",
                "encounter_type = 'inpatient' AND discharge_date < visit_date",
                ("discharge_date", "visit_date"),
            ),
            ck(
                "only_inpatient",
                "only inpatient encounters have a discharge_date",
                "encounter_type <> 'inpatient' AND discharge_date__src IS NOT NULL",
                ("discharge_date", "encounter_type"),
            ),
        ],
        "fund_le_total": [
            ck("", "fund_paid is larger than total_cost", "fund_paid > total_cost", ("fund_paid", "total_cost"))
        ],
        "self_pay_no_fund": [
            ck(
                "",
                "self-pay encounter with fund_paid > 0",
                "scheme = 'self_pay' AND fund_paid > 0",
                ("scheme", "fund_paid"),
            )
        ],
        "encounter_facility_county": [
            ck(
                "contradicts",
                "facility_county_code contradicts the facility registry",
                "_fac_known AND facility_county_code IS NOT NULL AND facility_county_code <> _fac_county",
                ("facility_county_code", "facility_id"),
            ),
            ck(
                "unknown_in_city",
                "facility_county_code is inside the city but the facility is not in the registry",
                "NOT _fac_known AND facility_county_code IS NOT NULL AND list_contains(_city4, left(facility_county_code, 4))",
                ("facility_county_code", "facility_id"),
            ),
        ],
        "budget_balances": [
            ck(
                "",
                "budget does not equal pooled_fund − risk_reserve − quality_reserve − critical_illness (±1 yuan)",
                "abs(budget - (pooled_fund - risk_reserve - quality_reserve - critical_illness)) > 1",
                ("budget", "pooled_fund", "risk_reserve", "quality_reserve", "critical_illness"),
            )
        ],
        "inspection_result_rule": [
            ck(
                "needed",
                "result is required when completed_date is set",
                "completed_date__src IS NOT NULL AND result__src IS NULL",
                ("result", "completed_date"),
            ),
            ck(
                "empty",
                "result must be empty when completed_date is empty",
                "completed_date__src IS NULL AND result__src IS NOT NULL",
                ("result", "completed_date"),
            ),
        ],
        "inspection_flags_rule": [
            ck(
                "published",
                "published: value is required when completed_date is set",
                "completed_date__src IS NOT NULL AND published__src IS NULL",
                ("published", "completed_date"),
            ),
            ck(
                "full_record",
                "full_record: value is required when completed_date is set",
                "completed_date__src IS NOT NULL AND full_record__src IS NULL",
                ("full_record", "completed_date"),
            ),
        ],
        "complaint_dates": [
            ck("due", "due_date is before received_date", "due_date < received_date", ("due_date", "received_date")),
            ck(
                "closed",
                "closed_date is before received_date",
                "closed_date < received_date",
                ("closed_date", "received_date"),
            ),
        ],
        "e_registered_le_total": [
            ck(
                "physicians",
                "physicians_e_registered is larger than physicians",
                "physicians_e_registered > physicians",
                ("physicians_e_registered", "physicians"),
            ),
            ck(
                "nurses",
                "nurses_e_registered is larger than nurses",
                "nurses_e_registered > nurses",
                ("nurses_e_registered", "nurses"),
            ),
        ],
        "professional_le_total": [
            ck(
                "",
                "professional_staff is larger than staff_total",
                "professional_staff > staff_total",
                ("professional_staff", "staff_total"),
            )
        ],
        "fraction_indicator_le_1": [
            ck(
                "",
                "value: a fraction (% indicator) cannot be larger than 1",
                "_kpi_unit = 'fraction' AND value > 1",
                ("value", "indicator_code"),
            )
        ],
    }
    if rule not in R:
        raise ValueError(f"{feed}: no implementation for row rule {rule}")
    return R[rule]


_REF_REASONS = {
    "facility": "{col}: '{{value}}' is not in the facility registry",
    "community": "{col}: '{{value}}' is not in the community registry",
    "county_of_city": "{col}: '{{value}}' is not a county of the city",
    "township_of_city": "{col}: '{{value}}' is not a township of the city",
    "county_or_city": "{col}: '{{value}}' is not a county of the city or the city",
    "kpi_family_e": "{col}: '{{value}}' is not a family-E indicator of the KPI catalogue",
}


def _ref_checks(feed: str, col: Column) -> list[Check]:
    if col.ref == "kpi_scored":
        return [
            Check(
                f"{feed}.{col.name}.known_kpi",
                f"{col.name}: '{{value}}' is not a KPI of the catalogue",
                f"{_q(col.name)} IS NOT NULL AND _kpi_direction IS NULL",
                (col.name,),
            ),
            Check(
                f"{feed}.{col.name}.scored_kpi",
                f"{col.name}: '{{value}}' has direction none (informational) and cannot have a target",
                "_kpi_direction = 'none'",
                (col.name,),
            ),
        ]
    return [
        Check(
            f"{feed}.{col.name}.ref_{col.ref}",
            _REF_REASONS[col.ref].format(col=col.name),
            f'"_ref_bad__{col.name}"',
            (col.name,),
        )
    ]


def compile_checks(feed_name: str, today: dt.date | None = None) -> list[Check]:
    """The feed's checks, in the order that picks a row's reason."""
    feed = load_contract().feeds[feed_name]
    today = today or today_shanghai()
    cols = list(feed.columns.values())
    checks = [Check(f"{feed_name}.row_shape", "{shape_error}", "_shape_error IS NOT NULL", ())]
    for col in cols:
        checks += _column_parse_checks(feed_name, col)
    for col in cols:
        checks += _column_range_checks(feed_name, col, today)
    for rule in feed.rules:
        checks += _rule_checks(feed_name, rule)
    for col in cols:
        if col.ref:
            checks += _ref_checks(feed_name, col)
    for col in cols:
        if col.unique:
            checks.append(
                Check(
                    f"{feed_name}.{col.name}.unique",
                    f"{col.name}: value is not unique in the file",
                    f'"_nonunique__{col.name}"',
                    (col.name,),
                )
            )
    if feed.identity:
        checks.append(
            Check(f"{feed_name}.identity.no_duplicate_in_run", DUPLICATE_REASON, "_dup", tuple(feed.identity))
        )
    return checks


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def reason_sql(check: Check) -> str:
    """SQL expression giving the check's reason text for a row."""
    if check.reason == "{shape_error}":
        return "_shape_error"
    if "{value}" in check.reason:
        before, after = check.reason.split("{value}", 1)
        src = _q(check.columns[0] + "__src")
        return f"({_sql_str(before)} || coalesce({src}, '') || {_sql_str(after)})"
    return _sql_str(check.reason)


def _case(checks: list[Check]) -> str:
    whens = " ".join(f"WHEN coalesce(({c.invalid_sql}), false) THEN {reason_sql(c)}" for c in checks)
    return f"CASE {whens} END"


def evaluate(con: duckdb.DuckDBPyConnection, checks: list[Check], run_ids: str | None = None) -> None:
    """Create table `reasons(_row_number, reason)` holding the invalid rows only.

    Duplicates are decided last, among the rows valid otherwise: the first row of an identity
    (by row number) stays valid unless an earlier file of the run (`run_ids`, a table with
    column `identity`) loaded it. `typed._dup` is set for the duplicates.
    """
    dup = [c for c in checks if c.invalid_sql == "_dup"]
    others = [c for c in checks if c.invalid_sql != "_dup"]
    case = _case(others) if others else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TABLE reasons AS SELECT _row_number, reason FROM "
        f"(SELECT _row_number, {case} AS reason FROM typed) WHERE reason IS NOT NULL"
    )
    if dup:
        earlier = ""
        if run_ids and con.execute(f"SELECT count(*) > 0 FROM {run_ids}").fetchone()[0]:
            # an inner join builds its hash table on this file's identities and prunes the
            # run's identity table by their min/max (files are mostly one insured county)
            earlier = f"""
            UNION
            SELECT v._row_number FROM (SELECT _row_number, _identity FROM typed ANTI JOIN reasons USING (_row_number)) v
            JOIN {run_ids} i ON i.identity = v._identity"""
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _dups AS
            SELECT _row_number FROM (
              SELECT t._row_number, t._identity,
                     row_number() OVER (PARTITION BY t._identity ORDER BY t._row_number) AS k
              FROM typed t ANTI JOIN reasons r USING (_row_number)
            ) WHERE k > 1{earlier}"""
        )
        if con.execute("SELECT count(*) FROM _dups").fetchone()[0]:
            con.execute("UPDATE typed SET _dup = true WHERE _row_number IN (SELECT _row_number FROM _dups)")
            con.execute(f"INSERT INTO reasons SELECT _row_number, {_sql_str(DUPLICATE_REASON)} FROM _dups")
        con.execute("DROP TABLE _dups")
