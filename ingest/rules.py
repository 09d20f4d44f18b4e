"""The one registry of row rules (feeds.md "Checks"): `RULES` and the cross-feed `REFS`.

The contract names a feed's rules (`rules:` in feeds.yaml) and its columns' references
(`ref:`); this module is where each one is defined, as one object holding

- `id`: the name the contract uses;
- `parts`: one or more `Part(sub, reason, sql, columns)`: the plain reason a quarantined row
  carries (`{value}` = the original text of the part's first column) and the SQL over table
  `typed` that is TRUE when a row breaks it (NULL counts as not broken);
- `helpers`: the helper columns (`Helper(name, select, join)`) the SQL needs, added to
  `typed` by `ingest.crossfeed.enrich` (a join is added once per feed, however many helpers use it).

`ingest.checks.compile_checks` turns the parts into checks in the contract's order;
`ingest.crossfeed.helper_columns` collects the helpers. Nothing else knows a rule's SQL:
great-expectations does not re-run row rules (their results are in `audit.quarantine`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Helper:
    """A helper column of `typed t`: `select` is its SQL (it may use the aliases of `join`)."""

    name: str
    select: str
    join: str | None = None
    # a per-run constant (the value of a scalar query, computed once and inlined as a literal)
    constant: bool = False


@dataclass(frozen=True)
class Part:
    sub: str  # "" or the part's name inside the rule ("needed", "order", …)
    reason: str  # plain words; `{value}` = the original text of columns[0]
    sql: str  # TRUE when the row breaks the rule
    columns: tuple[str, ...]


@dataclass(frozen=True)
class RowRule:
    id: str
    parts: tuple[Part, ...]
    helpers: tuple[Helper, ...] = ()

    def check_id(self, feed: str, part: Part) -> str:
        return f"{feed}.{self.id}{'.' + part.sub if part.sub else ''}"


@dataclass(frozen=True)
class Ref:
    """A `ref:` of the contract: the codes a column may hold, as subqueries over the `ref_*` tables.

    `parts` (optional) replace the default single part "not in the allowed set" (check id
    `<feed>.<col>.ref_<name>`); `{col}` in a part's reason / SQL / helpers is the column.
    """

    id: str
    reason: str
    allowed: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()
    helpers: tuple[Helper, ...] = ()

    def bad_sql(self, col: str) -> str:
        c = f't."{col}"'
        inner = " OR ".join(f"{c} IN ({q})" for q in self.allowed)
        return f"({c} IS NOT NULL AND NOT coalesce(({inner}), false))"


def _r(id_: str, *parts: tuple, helpers: Iterable[Helper] = ()) -> RowRule:
    return RowRule(id_, tuple(Part(*p) for p in parts), tuple(helpers))


# --------------------------------------------------------------------- shared helpers
_OPEN_DATE = "DATE '9999-12-31'"


def _overlap_sql(key: str, lo: str, hi: str, hi_open: str, extra_eq: tuple[str, ...] = ()) -> str:
    eqs = " AND ".join([f'p."{key}" = t."{key}"'] + [f'p."{c}" IS NOT DISTINCT FROM t."{c}"' for c in extra_eq])
    return (
        f"EXISTS (SELECT 1 FROM peers p WHERE {eqs} "
        f"AND NOT (p._file_idx = (SELECT i FROM self_idx) AND p._row_number = t._row_number) "
        f'AND p."{lo}" IS NOT NULL AND t."{lo}" IS NOT NULL '
        f'AND p."{lo}" <= coalesce(t."{hi}", {hi_open}) AND t."{lo}" <= coalesce(p."{hi}", {hi_open}))'
    )


_PARENT_JOIN = (
    "LEFT JOIN (SELECT region_code AS pc, any_value(level) AS plevel FROM peers GROUP BY region_code) pr "
    "ON pr.pc = t.parent_code"
)
PARENT_LEVEL = Helper("_parent_level", "pr.plevel", _PARENT_JOIN)
CITY_COUNT = Helper("_city_count", "(SELECT count(*) FROM peers WHERE level = 'city')")
PROVINCE_COUNT = Helper("_province_count", "(SELECT count(*) FROM peers WHERE level = 'province')")
TOWNSHIP_OK = Helper(
    "_twp_ok",
    "tw.code IS NOT NULL AND tw.county = t.county_code",
    "LEFT JOIN (SELECT code, any_value(county) AS county FROM ref_townships GROUP BY code) tw ON tw.code = t.township_code",
)
PARENT_FACILITY_OK = Helper(
    "_parent_ok", "(t.parent_facility_id IS NULL OR t.parent_facility_id IN (SELECT facility_id FROM peers))"
)
LEAD_OK = Helper(
    "_lead_ok",
    "(lf.facility_id IS NOT NULL AND lf.tier = 'county' AND lf.county_code = t.county_code)",
    "LEFT JOIN (SELECT facility_id, any_value(county_code) AS county_code, any_value(tier) AS tier "
    "FROM ref_facilities GROUP BY facility_id) lf ON lf.facility_id = t.lead_facility_id",
)
KPI_DIRECTION = Helper(
    "_kpi_direction",
    "kd.direction",
    "LEFT JOIN (SELECT code, any_value(direction) AS direction FROM ref_kpis GROUP BY code) kd ON kd.code = t.kpi_code",
)
KPI_UNIT = Helper(
    "_kpi_unit",
    "ku.unit",
    "LEFT JOIN (SELECT code, any_value(family) AS family, any_value(unit) AS unit FROM ref_kpis GROUP BY code) ku "
    "ON ku.code = t.indicator_code",
)
# the first 4 digits of the city, or of every city of the province ("inside the city")
CITY4 = Helper("_city4", "(SELECT list(DISTINCT left(code, 4) ORDER BY left(code, 4)) FROM ref_city)", constant=True)

# ----------------------------------------------------------------------- row rules
_RULES = [
    # regions
    _r(
        "region_level_matches_code",
        (
            "",
            "level does not match the length of region_code (6 digits for province, city and county, 9 for township)",
            "(level IN ('province', 'city', 'county') AND length(region_code) <> 6) "
            "OR (level = 'township' AND length(region_code) <> 9)",
            ("level", "region_code"),
        ),
        (
            "province_code",
            "region_code: '{value}' is not a province code (6 digits ending in 0000)",
            "level = 'province' AND length(region_code) = 6 AND right(region_code, 4) <> '0000'",
            ("region_code",),
        ),
        (
            "city_code",
            "region_code: '{value}' is not a city code of a province (6 digits ending in 00)",
            "level = 'city' AND _province_count > 0 AND length(region_code) = 6 AND right(region_code, 2) <> '00'",
            ("region_code",),
        ),
        helpers=[PROVINCE_COUNT],
    ),
    _r(
        "region_parent_exists",
        (
            "province_parent",
            "parent_code: the province must have an empty parent_code",
            "level = 'province' AND parent_code__src IS NOT NULL",
            ("parent_code",),
        ),
        (
            "city_parent",
            "parent_code: the city must have an empty parent_code",
            "level = 'city' AND _province_count = 0 AND parent_code__src IS NOT NULL",
            ("parent_code",),
        ),
        (
            "required",
            "parent_code: value is required",
            "parent_code__src IS NULL AND (level NOT IN ('province', 'city') OR (level = 'city' AND _province_count > 0))",
            ("parent_code",),
        ),
        (
            "exists",
            "parent_code: '{value}' is not in the regions file",
            "parent_code IS NOT NULL AND _parent_level IS NULL",
            ("parent_code",),
        ),
        helpers=[PROVINCE_COUNT, PARENT_LEVEL],
    ),
    _r(
        "region_single_city",
        (
            "",
            "exactly one region of level city is required",
            "_province_count = 0 AND (_city_count = 0 OR (_city_count > 1 AND level = 'city'))",
            ("level",),
        ),
        helpers=[PROVINCE_COUNT, CITY_COUNT],
    ),
    _r(
        "region_single_province",
        (
            "",
            "a second province: one warehouse holds at most one region of level province",
            "_province_count > 1 AND level = 'province'",
            ("level",),
        ),
        (
            "has_city",
            "the province has no city: at least one region of level city is required",
            "_province_count = 1 AND _city_count = 0 AND level = 'province'",
            ("level",),
        ),
        helpers=[PROVINCE_COUNT, CITY_COUNT],
    ),
    _r(
        "region_in_city",
        (
            "city_in_province",
            "region_code: city '{value}' is outside the province",
            "level = 'city' AND _parent_level IS NOT NULL "
            "AND (_parent_level <> 'province' OR left(region_code, 2) <> left(parent_code, 2))",
            ("region_code", "parent_code"),
        ),
        (
            "",
            "region_code: '{value}' is not inside its parent region",
            "(level = 'county' AND _parent_level IS NOT NULL AND (_parent_level <> 'city' OR left(region_code, 4) <> left(parent_code, 4))) "
            "OR (level = 'township' AND _parent_level IS NOT NULL AND (_parent_level <> 'county' OR left(region_code, 6) <> parent_code))",
            ("region_code", "parent_code"),
        ),
        helpers=[PARENT_LEVEL],
    ),
    # facilities
    _r(
        "facility_township_in_county",
        (
            "",
            "township_code: '{value}' is not a township of the facility's county",
            "township_code IS NOT NULL AND NOT coalesce(_twp_ok, false)",
            ("township_code", "county_code"),
        ),
        helpers=[TOWNSHIP_OK],
    ),
    _r(
        "facility_parent_exists",
        (
            "",
            "parent_facility_id: '{value}' is not in the facility registry",
            "NOT _parent_ok",
            ("parent_facility_id",),
        ),
        helpers=[PARENT_FACILITY_OK],
    ),
    _r(
        "facility_closed_after_opened",
        ("", "closed_on is before opened_on", "closed_on < opened_on", ("closed_on", "opened_on")),
    ),
    # communities
    _r(
        "community_lead_is_county_hospital",
        (
            "",
            "lead_facility_id: '{value}' is not a county-tier facility of the community's county",
            "NOT _lead_ok",
            ("lead_facility_id", "county_code"),
        ),
        helpers=[LEAD_OK],
    ),
    # memberships / catchments (`_fac_county`, `_comm_county`: crossfeed's registry lookups)
    _r(
        "valid_to_after_from",
        ("", "valid_to is before valid_from", "valid_to < valid_from", ("valid_to", "valid_from")),
    ),
    _r(
        "membership_same_county",
        (
            "",
            "the facility is not in the community's county",
            "_fac_county <> _comm_county",
            ("facility_id", "community_id"),
        ),
    ),
    _r(
        "catchment_same_county",
        (
            "",
            "the township is not in the community's county",
            "left(township_code, 6) <> _comm_county",
            ("township_code", "community_id"),
        ),
    ),
    _r(
        "membership_no_overlap",
        (
            "",
            "overlapping validity with another row for the same facility",
            "_overlap",
            ("facility_id", "valid_from", "valid_to"),
        ),
        helpers=[Helper("_overlap", _overlap_sql("facility_id", "valid_from", "valid_to", _OPEN_DATE))],
    ),
    _r(
        "catchment_no_overlap",
        (
            "",
            "overlapping validity with another row for the same township",
            "_overlap",
            ("township_code", "valid_from", "valid_to"),
        ),
        helpers=[Helper("_overlap", _overlap_sql("township_code", "valid_from", "valid_to", _OPEN_DATE))],
    ),
    # targets
    _r(
        "target_org_needs_level",
        (
            "",
            "org_id is given but org_level is empty",
            "org_id IS NOT NULL AND org_level IS NULL",
            ("org_id", "org_level"),
        ),
    ),
    _r("target_years_ordered", ("", "year_to is before year_from", "year_to < year_from", ("year_to", "year_from"))),
    _r(
        "target_no_overlap",
        (
            "",
            "overlapping years with another row for the same KPI and scope",
            "_overlap",
            ("kpi_code", "org_level", "org_id", "period_type", "year_from", "year_to"),
        ),
        helpers=[
            Helper(
                "_overlap",
                _overlap_sql("kpi_code", "year_from", "year_to", "99999", ("org_level", "org_id", "period_type")),
            )
        ],
    ),
    # activity feeds
    _r(
        "insured_le_residents",
        (
            "",
            "insured_residents is larger than residents × 1.2",
            "insured_residents > residents * 1.2",
            ("insured_residents", "residents"),
        ),
    ),
    _r(
        "discharge_rule",
        (
            "needed",
            "inpatient encounter needs a discharge_date",
            "encounter_type = 'inpatient' AND discharge_date__src IS NULL",
            ("discharge_date", "encounter_type"),
        ),
        (
            "order",
            "discharge_date is before visit_date",
            "encounter_type = 'inpatient' AND discharge_date < visit_date",
            ("discharge_date", "visit_date"),
        ),
        (
            "only_inpatient",
            "only inpatient encounters have a discharge_date",
            "encounter_type <> 'inpatient' AND discharge_date__src IS NOT NULL",
            ("discharge_date", "encounter_type"),
        ),
    ),
    _r(
        "fund_le_total",
        ("", "fund_paid is larger than total_cost", "fund_paid > total_cost", ("fund_paid", "total_cost")),
    ),
    _r(
        "self_pay_no_fund",
        ("", "self-pay encounter with fund_paid > 0", "scheme = 'self_pay' AND fund_paid > 0", ("scheme", "fund_paid")),
    ),
    _r(
        "encounter_facility_county",
        (
            "contradicts",
            "facility_county_code contradicts the facility registry",
            "_fac_known AND facility_county_code IS NOT NULL AND facility_county_code <> _fac_county",
            ("facility_county_code", "facility_id"),
        ),
        (
            "unknown_in_city",
            "facility_county_code is inside the city but the facility is not in the registry",
            "NOT _fac_known AND facility_county_code IS NOT NULL AND list_contains(_city4, left(facility_county_code, 4))",
            ("facility_county_code", "facility_id"),
        ),
        helpers=[CITY4],
    ),
    _r(
        "budget_balances",
        (
            "",
            "budget does not equal pooled_fund − risk_reserve − quality_reserve − critical_illness (±1 yuan)",
            "abs(budget - (pooled_fund - risk_reserve - quality_reserve - critical_illness)) > 1",
            ("budget", "pooled_fund", "risk_reserve", "quality_reserve", "critical_illness"),
        ),
    ),
    _r(
        "inspection_result_rule",
        (
            "needed",
            "result is required when completed_date is set",
            "completed_date__src IS NOT NULL AND result__src IS NULL",
            ("result", "completed_date"),
        ),
        (
            "empty",
            "result must be empty when completed_date is empty",
            "completed_date__src IS NULL AND result__src IS NOT NULL",
            ("result", "completed_date"),
        ),
    ),
    _r(
        "inspection_flags_rule",
        (
            "published",
            "published: value is required when completed_date is set",
            "completed_date__src IS NOT NULL AND published__src IS NULL",
            ("published", "completed_date"),
        ),
        (
            "full_record",
            "full_record: value is required when completed_date is set",
            "completed_date__src IS NOT NULL AND full_record__src IS NULL",
            ("full_record", "completed_date"),
        ),
    ),
    _r(
        "complaint_dates",
        ("due", "due_date is before received_date", "due_date < received_date", ("due_date", "received_date")),
        (
            "closed",
            "closed_date is before received_date",
            "closed_date < received_date",
            ("closed_date", "received_date"),
        ),
    ),
    _r(
        "e_registered_le_total",
        (
            "physicians",
            "physicians_e_registered is larger than physicians",
            "physicians_e_registered > physicians",
            ("physicians_e_registered", "physicians"),
        ),
        (
            "nurses",
            "nurses_e_registered is larger than nurses",
            "nurses_e_registered > nurses",
            ("nurses_e_registered", "nurses"),
        ),
    ),
    _r(
        "professional_le_total",
        (
            "",
            "professional_staff is larger than staff_total",
            "professional_staff > staff_total",
            ("professional_staff", "staff_total"),
        ),
    ),
    _r(
        "fraction_indicator_le_1",
        (
            "",
            "value: a fraction (% indicator) cannot be larger than 1",
            "_kpi_unit = 'fraction' AND value > 1",
            ("value", "indicator_code"),
        ),
        helpers=[KPI_UNIT],
    ),
]
RULES: dict[str, RowRule] = {r.id: r for r in _RULES}

# ------------------------------------------------------------------ cross-feed refs
_REFS = [
    Ref("facility", "{col}: '{value}' is not in the facility registry", ("SELECT facility_id FROM ref_facilities",)),
    Ref(
        "community", "{col}: '{value}' is not in the community registry", ("SELECT community_id FROM ref_communities",)
    ),
    Ref("county_of_city", "{col}: '{value}' is not a county of the city", ("SELECT code FROM ref_counties",)),
    Ref("township_of_city", "{col}: '{value}' is not a township of the city", ("SELECT code FROM ref_townships",)),
    Ref(
        "county_or_city",
        "{col}: '{value}' is not a county of the city or the city",
        ("SELECT code FROM ref_counties", "SELECT code FROM ref_city", "SELECT code FROM ref_province"),
    ),
    Ref(
        "kpi_scored",
        "{col}: '{value}' is not a KPI with a target",
        parts=(
            Part(
                "known_kpi",
                "{col}: '{value}' is not a KPI of the catalogue",
                '"{col}" IS NOT NULL AND _kpi_direction IS NULL',
                (),
            ),
            Part(
                "scored_kpi",
                "{col}: '{value}' has direction none (informational) and cannot have a target",
                "_kpi_direction = 'none'",
                (),
            ),
        ),
        helpers=(KPI_DIRECTION,),
    ),
    Ref(
        "kpi_family_e",
        "{col}: '{value}' is not a family-E indicator of the KPI catalogue",
        ("SELECT code FROM ref_kpis WHERE family = 'E'",),
    ),
]
REFS: dict[str, Ref] = {r.id: r for r in _REFS}


def rule(rule_id: str, feed: str = "") -> RowRule:
    if rule_id not in RULES:
        raise ValueError(f"{feed}: no implementation for row rule {rule_id}")
    return RULES[rule_id]


def ref(ref_id: str) -> Ref:
    if ref_id not in REFS:
        raise ValueError(f"unknown ref {ref_id}")
    return REFS[ref_id]
