-- marts.dq_deliveries: the expected deliveries behind the completeness grid and the provisional mark
-- (outputs.md "Data quality", "Trust in each number"), published for readers: one row per feed ×
-- county × month (monthly feeds) or × year (yearly feeds) that a county owes, of the months with data.
-- The dashboard's completeness grid reads this, so it agrees with marts.kpi_cell_quality.
select
    feed,
    cadence,
    county_code,
    period_start,
    period_end,
    accepted,
    rejected_only,
    late,
    first_accepted_at,
    cast(rows_loaded as bigint) as rows_loaded,  -- DuckDB sums to HUGEINT, Spark to BIGINT: one type for readers
    cast(rows_quarantined as bigint) as rows_quarantined,
    failed_expectations,
    warnings,
    warnings_zh
from {{ ref('int_dq_deliveries') }}
