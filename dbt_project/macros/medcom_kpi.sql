{#-
  medcom_month_and_ytd(relation, keys, measures, month_col='month')
  Turns a monthly relation (one row per keys × month, zero-filled) into `month` rows and `ytd`
  rows: the ytd row of month M sums each measure over the months of M's year up to M
  (ratio of sums: numerators and denominators are summed, never the ratios).
  Output columns: keys…, period_type, period, measures…
-#}
{% macro medcom_month_and_ytd(relation, keys, measures, month_col='month') -%}
select
    {% for k in keys %}{{ k }}, {% endfor %}
    'month' as period_type,
    {{ month_col }} as period
    {% for m in measures %}, {{ m }}{% endfor %}
from {{ relation }}
union all
select
    {% for k in keys %}{{ k }}, {% endfor %}
    'ytd' as period_type,
    {{ month_col }} as period
    {% for m in measures %}, sum({{ m }}) over (
        partition by {% for k in keys %}{{ k }}, {% endfor %}{{ medcom_year(month_col) }}
        order by {{ month_col }}
        rows between unbounded preceding and current row
    ) as {{ m }}{% endfor %}
from {{ relation }}
{%- endmacro %}

{#-
  medcom_kpi_rows(relation, kpi_code, numerator, denominator=none, kind='ratio')
  One KPI in the common row shape from a wide relation with org_level, org_id, period_type, period.
  kind='ratio': value = numerator / denominator (NULL when the denominator is 0);
  kind='count': value = numerator, denominator NULL.
-#}
{% macro medcom_kpi_rows(relation, kpi_code, numerator, denominator=none, kind='ratio', where=none) -%}
select
    cast('{{ kpi_code }}' as {{ dbt.type_string() }})       as kpi_code,
    org_level,
    org_id,
    period_type,
    period,
    {{ medcom_to_double(numerator) }}                       as numerator,
    {% if kind == 'ratio' -%}
    {{ medcom_to_double(denominator) }}                     as denominator,
    {{ medcom_ratio(numerator, denominator) }}              as value
    {%- else -%}
    cast(null as {{ medcom_double() }})                     as denominator,
    {{ medcom_to_double(numerator) }}                       as value
    {%- endif %}
from {{ relation }}
{% if where %}where {{ where }}{% endif %}
{%- endmacro %}


{#-
  medcom_kpi_shape(relation, period_type='period_type', period='period', count_if_no_denominator=false)
  The final select of a family model that is already long (one row per kpi_code × org × period,
  columns kpi_code, org_level, org_id, period_type, period, numerator, denominator):
  numerator / denominator as DOUBLE, value = numerator / denominator (NULL when the denominator
  is 0 or NULL). period_type / period: column names or expressions (e.g. "'month'", 'month').
  count_if_no_denominator: rows whose denominator is NULL are counts, value = numerator.
-#}
{% macro medcom_kpi_shape(relation, period_type='period_type', period='period', count_if_no_denominator=false) -%}
select
    kpi_code,
    org_level,
    org_id,
    {{ period_type }}{% if period_type != 'period_type' %} as period_type{% endif %},
    {{ period }}{% if period != 'period' %} as period{% endif %},
    {{ medcom_to_double('numerator') }}   as numerator,
    {{ medcom_to_double('denominator') }} as denominator,
    {% if count_if_no_denominator -%}
    case when denominator is null then {{ medcom_to_double('numerator') }}
         else {{ medcom_ratio('numerator', 'denominator') }} end as value
    {%- else -%}
    {{ medcom_ratio('numerator', 'denominator') }} as value
    {%- endif %}
from {{ relation }}
{%- endmacro %}

{#-
  medcom_county_rows_and_city(county_rows, city)
  The county rows (kpi_code, org_level, org_id, period_type, period, numerator, denominator)
  plus one city row per kpi_code × period_type × period summing numerator and denominator over
  every county row (city = every county of the city). `city` has one column city_code.
-#}
{% macro medcom_county_rows_and_city(county_rows, city) -%}
select * from {{ county_rows }}
union all
select kpi_code, 'city' as org_level, ci.city_code as org_id, period_type, period,
       sum(numerator) as numerator, sum(denominator) as denominator
from {{ county_rows }}
cross join {{ city }} ci
group by kpi_code, ci.city_code, period_type, period
{%- endmacro %}
