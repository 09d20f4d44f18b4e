{#- Family D — comprehensive supervision 综合监管 in the common KPI row shape (14 KPIs). -#}
{{ medcom_kpi_periods(ref('int_kpi_d_monthly')) }}
