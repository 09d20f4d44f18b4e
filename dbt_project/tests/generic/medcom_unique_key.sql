{#- Generic test: the combination of `columns` (column names or expressions) is unique.
    NULLs count as values (two rows with NULL in the same key column and equal other
    columns are duplicates), unless ignore_null_keys: true — then rows with a NULL in any
    key column are left out (pair it with not_null on the columns). Usage:
      data_tests:
        - medcom_unique_key:
            arguments:
              columns: [kpi_code, org_level, org_id, period_type, period]
              ignore_null_keys: true   # optional, default false
-#}
{% test medcom_unique_key(model, columns, ignore_null_keys=false) %}
select {% for c in columns %}{{ c }} as k{{ loop.index }}, {% endfor %}count(*) as n_rows
from {{ model }}
{% if ignore_null_keys -%}
where {% for c in columns %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{% endif -%}
group by {% for c in columns %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endtest %}
