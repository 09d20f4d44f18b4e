-- marts.kpi_cell_quality: the data quality behind every KPI cell (outputs.md "Trust in each number").
-- One row per kpi_values row (KPI × org × period type × period): of the expected deliveries of the
-- KPI's source feeds for the org's counties (a city: all its counties; a community, township or
-- facility: its county) in the period, how many arrived and were accepted, how many late, the
-- quarantined share of their rows, and the failed batch-level expectations. provisional = some
-- expected delivery is not accepted, or a batch-level expectation failed.
with cells as (
    select kpi_code, org_level, org_id, period_type, period from {{ ref('kpi_values') }}
),

org_counties as (
    select 'county' as org_level, county_code as org_id, county_code from {{ ref('int_counties') }}
    union all
    select 'city', city_code, county_code from {{ ref('int_counties') }}
    union all
    select org_level, org_id, county_code
    from {{ ref('dim_org') }}
    where org_level in ('community', 'township', 'facility') and county_code is not null
),

quality as (
    select * from {{ ref('int_dq_kpi_county_periods') }}
),

joined as (
    select
        c.kpi_code, c.org_level, c.org_id, c.period_type, c.period,
        q.expected_deliveries, q.accepted_deliveries, q.late_deliveries, q.rows_loaded, q.rows_quarantined,
        q.failed_expectations, q.missing, q.warnings, q.warnings_zh
    from cells as c
    inner join org_counties as o on o.org_level = c.org_level and o.org_id = c.org_id
    inner join quality as q
        on q.kpi_code = c.kpi_code and q.county_code = o.county_code
       and q.period_type = c.period_type and q.period = c.period
)

select
    kpi_code,
    org_level,
    org_id,
    period_type,
    period,
    cast(sum(expected_deliveries) as bigint)                                        as expected_deliveries,
    cast(sum(accepted_deliveries) as bigint)                                        as accepted_deliveries,
    cast(sum(late_deliveries) as bigint)                                            as late_deliveries,
    {{ medcom_ratio('sum(accepted_deliveries)', 'sum(expected_deliveries)') }} as completeness,
    cast(sum(rows_quarantined) as bigint)                                           as rows_quarantined,
    {{ medcom_ratio('sum(rows_quarantined)', 'sum(rows_loaded) + sum(rows_quarantined)') }} as quarantine_share,
    cast(sum(failed_expectations) as bigint)                                        as failed_expectations,
    {{ dbt.listagg('missing', "', '", 'order by missing') }}        as missing,
    {{ dbt.listagg('warnings', "'; '", 'order by warnings') }}      as warnings,
    {{ dbt.listagg('warnings_zh', "'；'", 'order by warnings') }}   as warnings_zh,
    case
        when sum(accepted_deliveries) < sum(expected_deliveries) or sum(failed_expectations) > 0 then true
        else false
    end                                                             as provisional
from joined
group by kpi_code, org_level, org_id, period_type, period
