"""The monthly close: frozen KPI figures per month and revision, restatements and league tables.

`medcom close YYYY-MM` copies every `marts.kpi_values` row of the month (month and YTD rows
of that month, the year rows shown with it) from the published snapshot readers see into the
`closed` schema of the warehouse file, with the batches the figures rest on, who closed and
when. dbt never builds or drops that schema, so the closed figures survive every rebuild, and
as the warehouse file is what `publish()` copies, every snapshot carries `closed.kpi_values`.
"""
