{#- Generic test: the combination of `columns` (column names or expressions) is unique.
    NULLs count as values (two rows with NULL in the same key column and equal other
    columns are duplicates). Usage:
      data_tests:
        - medcom_unique_key:
            arguments:
              columns: [kpi_code, org_level, org_id, period_type, period]
-#}
{% test medcom_unique_key(model, columns) %}
select {% for c in columns %}{{ c }} as k{{ loop.index }}, {% endfor %}count(*) as n_rows
from {{ model }}
group by {% for c in columns %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endtest %}
