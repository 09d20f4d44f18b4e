-- Family B 村卫生室承担基本公卫任务 in the common KPI row shape (month, ytd).
{{ medcom_kpi_periods(ref('int_kpi_b_monthly')) }}
