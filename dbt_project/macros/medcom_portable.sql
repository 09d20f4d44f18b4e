{#-
  Portable helpers used by every layer (staging, the shared org hierarchy, the KPI families
  and the marts). Prefixed `medcom_`. Each warehouse-specific one dispatches through
  adapter.dispatch (`<adapter>__medcom_…`); the default__ versions use dbt's cross-database
  macros or ANSI SQL, `duckdb__` versions exist where DuckDB has a better native form.
-#}

{#- DOUBLE type. -#}
{% macro medcom_double() -%}
  {{ return(adapter.dispatch('medcom_double', 'medcom')()) }}
{%- endmacro %}
{% macro default__medcom_double() -%}double precision{%- endmacro %}
{% macro duckdb__medcom_double() -%}double{%- endmacro %}
{% macro spark__medcom_double() -%}double{%- endmacro %}

{#- Cast to DOUBLE. -#}
{% macro medcom_to_double(expr) -%}
  cast({{ expr }} as {{ medcom_double() }})
{%- endmacro %}

{#- Ratio as DOUBLE, NULL when the denominator is 0 or NULL. -#}
{% macro medcom_ratio(num, den) -%}
  {{ medcom_to_double(num) }} / nullif({{ medcom_to_double(den) }}, 0)
{%- endmacro %}

{#- First n characters of a string. -#}
{% macro medcom_left(expr, n) -%}
  {{ return(adapter.dispatch('medcom_left', 'medcom')(expr, n)) }}
{%- endmacro %}
{% macro default__medcom_left(expr, n) -%}
  substr({{ expr }}, 1, {{ n }})
{%- endmacro %}
{% macro duckdb__medcom_left(expr, n) -%}
  left({{ expr }}, {{ n }})
{%- endmacro %}

{#- First day of the month of a date expression, as DATE. -#}
{% macro medcom_month_start(expr) -%}
  {{ return(adapter.dispatch('medcom_month_start', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__medcom_month_start(expr) -%}
  cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}

{#- Last day of the month of a date expression, as DATE. -#}
{% macro medcom_month_end(expr) -%}
  {{ return(adapter.dispatch('medcom_month_end', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__medcom_month_end(expr) -%}
  cast({{ dbt.last_day(expr, 'month') }} as date)
{%- endmacro %}
{% macro duckdb__medcom_month_end(expr) -%}
  last_day(cast({{ expr }} as date))
{%- endmacro %}

{#- A date expression shifted by n months, as DATE. -#}
{% macro medcom_add_months(expr, n) -%}
  {{ return(adapter.dispatch('medcom_add_months', 'medcom')(expr, n)) }}
{%- endmacro %}
{% macro default__medcom_add_months(expr, n) -%}
  cast({{ dbt.dateadd('month', n, expr) }} as date)
{%- endmacro %}

{#- Calendar year (integer) of a date expression. -#}
{% macro medcom_year(expr) -%}
  {{ return(adapter.dispatch('medcom_year', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__medcom_year(expr) -%}
  cast(extract(year from {{ expr }}) as integer)
{%- endmacro %}

{#- Calendar month number 1–12 (integer) of a date expression. -#}
{% macro medcom_month_number(expr) -%}
  {{ return(adapter.dispatch('medcom_month_number', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__medcom_month_number(expr) -%}
  cast(extract(month from {{ expr }}) as integer)
{%- endmacro %}

{#- 1 January of an integer year expression, as DATE. -#}
{% macro medcom_year_start_of_year(year_expr) -%}
  {{ return(adapter.dispatch('medcom_year_start_of_year', 'medcom')(year_expr)) }}
{%- endmacro %}
{% macro default__medcom_year_start_of_year(year_expr) -%}
  cast({{ dbt.concat([dbt.safe_cast(year_expr, api.Column.translate_type('string')), "'-01-01'"]) }} as date)
{%- endmacro %}
{% macro duckdb__medcom_year_start_of_year(year_expr) -%}
  make_date(cast({{ year_expr }} as integer), 1, 1)
{%- endmacro %}

{#- 1 January of the year of a date expression, as DATE. -#}
{% macro medcom_year_start(expr) -%}
  {{ return(adapter.dispatch('medcom_year_start', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__medcom_year_start(expr) -%}
  cast({{ dbt.date_trunc('year', expr) }} as date)
{%- endmacro %}

{#- Whole months from date a to date b (b − a), both first days of months. -#}
{% macro medcom_months_between(a, b) -%}
  {{ return(adapter.dispatch('medcom_months_between', 'medcom')(a, b)) }}
{%- endmacro %}
{% macro default__medcom_months_between(a, b) -%}
  (({{ medcom_year(b) }} - {{ medcom_year(a) }}) * 12 + {{ medcom_month_number(b) }} - {{ medcom_month_number(a) }})
{%- endmacro %}

{#- Round a DOUBLE to n decimals. -#}
{% macro medcom_round(expr, n) -%}
  {{ return(adapter.dispatch('medcom_round', 'medcom')(expr, n)) }}
{%- endmacro %}
{% macro default__medcom_round(expr, n) -%}
  round({{ expr }}, {{ n }})
{%- endmacro %}
{% macro postgres__medcom_round(expr, n) -%}
  round(cast({{ expr }} as numeric), {{ n }})
{%- endmacro %}

{#- A far-future date standing for an open validity end. -#}
{% macro medcom_open_end() -%}
  cast('9999-12-31' as date)
{%- endmacro %}

{#- A validity row (memberships, catchments: both bounds inclusive, empty valid_to = open)
    is in force on `day`. The one place the as-of-date rule of feeds.md/kpis.md lives. -#}
{% macro medcom_valid_on(alias, day) -%}
  {{ alias }}.valid_from <= {{ day }} and coalesce({{ alias }}.valid_to, {{ medcom_open_end() }}) >= {{ day }}
{%- endmacro %}

{#- Facility grades "II and above" (feeds.md codes). -#}
{% macro medcom_is_grade2_plus(grade) -%}
  {{ grade }} in ('3A', '3B', '3C', '2A', '2B', '2C')
{%- endmacro %}

{#- The build's as-of date (var `as_of_date`, YYYY-MM-DD; `medcom build` passes MEDCOM_AS_OF_DATE
    or today's date in Asia/Shanghai): what "current" means for memberships, catchments and
    open complaints. No model reads the wall clock, so a build is reproducible from its inputs
    and this one var. -#}
{% macro medcom_as_of_date() -%}
  {%- set d = var('as_of_date', none) -%}
  {%- if d is none and execute -%}
    {{ exceptions.raise_compiler_error("var as_of_date is not set (medcom build passes it; with plain dbt use --vars '{as_of_date: 2026-01-31}')") }}
  {%- endif -%}
  cast('{{ d }}' as date)
{%- endmacro %}

{#- ---------------------------------------------------------------- Spark (dbt-spark) forms -#}
{% macro spark__medcom_left(expr, n) -%}
  left({{ expr }}, {{ n }})
{%- endmacro %}
{% macro spark__medcom_month_start(expr) -%}
  trunc(cast({{ expr }} as date), 'MM')
{%- endmacro %}
{% macro spark__medcom_month_end(expr) -%}
  last_day(cast({{ expr }} as date))
{%- endmacro %}
{% macro spark__medcom_add_months(expr, n) -%}
  add_months(cast({{ expr }} as date), cast({{ n }} as int))
{%- endmacro %}
{% macro spark__medcom_year_start(expr) -%}
  trunc(cast({{ expr }} as date), 'YEAR')
{%- endmacro %}
{% macro spark__medcom_year_start_of_year(year_expr) -%}
  make_date(cast({{ year_expr }} as int), 1, 1)
{%- endmacro %}

{#- Whole days from date a to date b (b − a). -#}
{% macro medcom_days_between(a, b) -%}
  {{ return(adapter.dispatch('medcom_days_between', 'medcom')(a, b)) }}
{%- endmacro %}
{% macro default__medcom_days_between(a, b) -%}
  {{ dbt.datediff(a, b, 'day') }}
{%- endmacro %}
{% macro spark__medcom_days_between(a, b) -%}
  cast(datediff(cast({{ b }} as date), cast({{ a }} as date)) as bigint)
{%- endmacro %}
