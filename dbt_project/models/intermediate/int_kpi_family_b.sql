-- Family B 村卫生室承担基本公卫任务 in the common KPI row shape.
with p as (
    select * from {{ ref('int_kpi_b_periods') }}
)

{{ medcom_kpi_rows('p', 'village_phs_task_share', 'task_village', 'task_all') }}
union all
{{ medcom_kpi_rows('p', 'village_phs_fund_share', 'fund_village', 'fund_all') }}
