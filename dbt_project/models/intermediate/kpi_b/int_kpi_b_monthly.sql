-- Family B monthly KPI rows: org × month spine, zero-fill, city over each month's plan counties.
{{ medcom_kpi_monthly(
    [ref('int_kpi_b_measures')],
    kpis={'village_phs_task_share': 'flow', 'village_phs_fund_share': 'flow'},
    city_counties='plan'
) }}
