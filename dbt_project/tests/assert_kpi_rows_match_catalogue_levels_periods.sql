-- Fails when a kpi_values row has a level or period type that the KPI's catalogue entry does not
-- list (kpis.md: "A KPI is computed only at the levels listed for it"; a province row is allowed
-- exactly for the KPIs that list `city`: "every KPI that has city rows also has province rows").
with pairs as (
    select distinct kpi_code,
        case when org_level = 'province' then 'city' else org_level end as org_level,
        period_type
    from {{ ref('kpi_values') }}
)

select
    p.kpi_code,
    p.org_level,
    p.period_type,
    k.levels,
    k.periods
from pairs as p
inner join {{ ref('kpi_catalogue') }} as k
    on k.kpi_code = p.kpi_code
where {{ dbt.position(dbt.concat(["' '", "p.org_level", "' '"]), dbt.concat(["' '", "k.levels", "' '"])) }} = 0
   or {{ dbt.position(dbt.concat(["' '", "p.period_type", "' '"]), dbt.concat(["' '", "k.periods", "' '"])) }} = 0
