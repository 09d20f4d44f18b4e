{#- Generic test: the combination of `columns` is unique (rows with a NULL in any key column
    are ignored; pair it with not_null on the columns). Usage in YAML:
      data_tests:
        - cd_unique_key:
            arguments:
              columns: [community_id, year]
-#}
{% test cd_unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
where {% for c in columns %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
