{#- Generic test: the combination of `columns` (column names or expressions) is unique.
    NULLs count as values (two rows with NULL in the same key column and equal other
    columns are duplicates), unless ignore_null_keys: true — then rows with a NULL in any
    key column are left out (pair it with not_null on the columns). Usage:
      data_tests:
        - medcom_unique_key:
            arguments:
              columns: [kpi_code, org_level, org_id, period_type, period]
              ignore_null_keys: true   # optional, default false

    Scoped to what a build changed (large fact tables, incremental builds): with
    `scope: ref('int_build_months')` and `scope_column: month` (or `scope: source('audit',
    'build_pending')`, `scope_column: _batch_id`, `scope_key: batch_id`), only the keys of the rows
    whose scope_column is in the scope relation are checked — against every row of the model, so a
    duplicate between a rebuilt row and an older one is still found. The scope relation holds
    everything in a full build, where (medcom_full_build()) the plain check runs. Key columns must
    be not-null (they are joined on).
-#}
{% test medcom_unique_key(model, columns, ignore_null_keys=false, scope=none, scope_column=none, scope_key=none) %}
{% if scope is not none and not medcom_full_build() -%}
with scoped_keys as (
    select distinct {% for c in columns %}{{ c }} as k{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ model }}
    where {{ scope_column }} in (select {{ scope_key or scope_column }} from {{ scope }})
)
select {% for c in columns %}s.k{{ loop.index }}, {% endfor %}count(*) as n_rows
from {{ model }} as m
inner join scoped_keys as s
    on {% for c in columns %}{{ c }} = s.k{{ loop.index }}{% if not loop.last %} and {% endif %}{% endfor %}
group by {% for c in columns %}s.k{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{%- else -%}
select {% for c in columns %}{{ c }} as k{{ loop.index }}, {% endfor %}count(*) as n_rows
from {{ model }}
{% if ignore_null_keys -%}
where {% for c in columns %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
{% endif -%}
group by {% for c in columns %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{%- endif %}
{% endtest %}
