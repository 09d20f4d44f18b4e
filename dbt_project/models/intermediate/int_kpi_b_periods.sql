-- Family B measures per org × period type (month, ytd) × period (ytd = sums over the months).
{{ medcom_month_and_ytd(
    ref('int_kpi_b_monthly'),
    ['org_level', 'org_id'],
    ['task_village', 'task_all', 'fund_village', 'fund_all']
) }}
