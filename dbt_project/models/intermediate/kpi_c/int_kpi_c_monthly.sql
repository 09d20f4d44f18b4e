-- Family C monthly KPI rows: org × month spine, zero-fill, city over each month's plan counties.
{{ medcom_kpi_monthly(
    [ref('int_kpi_c_fund_ratios'), ref('int_kpi_c_budget_execution')],
    kpis={
        'fund_in_county_rate': 'flow',
        'fund_primary_care_share': 'flow',
        'fund_budget_execution': 'month ytd',
    },
    city_counties='plan'
) }}
