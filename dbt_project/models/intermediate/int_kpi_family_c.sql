{#- Family C — medical-insurance fund (resident scheme only): union of its KPI models. -#}
select * from {{ ref('int_kpi_c_budget_execution') }}
union all
select * from {{ ref('int_kpi_c_fund_ratios') }}
