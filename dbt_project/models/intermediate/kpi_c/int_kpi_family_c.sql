{#- Family C — medical-insurance fund (resident scheme only) in the common KPI row shape. -#}
{{ medcom_kpi_periods(ref('int_kpi_c_monthly')) }}
