-- marts.dim_kpi: the KPI catalogue (one row per KPI).
select
    kpi_code,
    name_zh,
    name_en,
    family,
    family_name_zh,
    family_name_en,
    unit,
    direction,
    formula_zh,
    formula_en,
    source_feeds,
    policy_ref,
    min_denominator,
    levels,
    periods,
    display_order
from {{ ref('kpi_catalogue') }}
