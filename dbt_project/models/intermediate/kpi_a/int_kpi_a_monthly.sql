-- Family A monthly KPI rows: org × month spine, zero-fill, city over each month's plan counties.
{{ medcom_kpi_monthly(
    [ref('int_kpi_a_measures')],
    kpis={
        'in_county_visit_rate': 'flow',
        'in_county_inpatient_rate': 'flow',
        'primary_care_visit_share': 'flow',
        'upward_referrals': 'flow',
        'downward_referrals': 'flow',
    },
    counts=['upward_referrals', 'downward_referrals'],
    city_counties='plan'
) }}
