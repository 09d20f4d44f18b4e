-- Family A measures per org × period type (month, ytd) × period. YTD sums the monthly rows of
-- the year up to the month (the city's YTD sums the monthly city sums over each month's plan counties).
{{ medcom_month_and_ytd(
    ref('int_kpi_a_monthly'),
    ['org_level', 'org_id'],
    ['n_all', 'n_in_county', 'n_inpatient', 'n_inpatient_in_county', 'n_oe_primary_care',
     'n_oe_registry', 'n_up', 'n_down']
) }}
