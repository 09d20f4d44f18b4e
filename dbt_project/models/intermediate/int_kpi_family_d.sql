{#- Family D — comprehensive supervision 综合监管: union of its KPI models (14 KPIs). -#}
select * from {{ ref('int_kpi_d_workforce') }}
union all
select * from {{ ref('int_kpi_d_inspections') }}
union all
select * from {{ ref('int_kpi_d_audit_coverage') }}
union all
select * from {{ ref('int_kpi_d_cases') }}
