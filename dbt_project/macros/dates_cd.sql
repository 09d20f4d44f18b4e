{#-
  Portable helpers used by the fund (family C) and supervision (family D) models.
  Prefixed `cd_` to avoid clashes with other macro files. Each dispatches through
  adapter.dispatch so a warehouse-specific version can be added (`<adapter>__cd_…`);
  the default__ versions use dbt's cross-database macros / ANSI SQL only.
-#}

{#- The DOUBLE type of kpi_values' numerator / denominator / value. -#}
{% macro cd_double() -%}
  {{ return(adapter.dispatch('cd_double', 'medcom')()) }}
{%- endmacro %}
{% macro default__cd_double() -%}double precision{%- endmacro %}
{% macro duckdb__cd_double() -%}double{%- endmacro %}
{% macro spark__cd_double() -%}double{%- endmacro %}

{#- First day of the month of a date expression, as DATE. -#}
{% macro cd_month_start(expr) -%}
  {{ return(adapter.dispatch('cd_month_start', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__cd_month_start(expr) -%}
  cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}

{#- 1 January of the year of a date expression, as DATE. -#}
{% macro cd_year_start(expr) -%}
  {{ return(adapter.dispatch('cd_year_start', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__cd_year_start(expr) -%}
  cast({{ dbt.date_trunc('year', expr) }} as date)
{%- endmacro %}

{#- A date expression shifted by n months, as DATE. -#}
{% macro cd_add_months(expr, n) -%}
  {{ return(adapter.dispatch('cd_add_months', 'medcom')(expr, n)) }}
{%- endmacro %}
{% macro default__cd_add_months(expr, n) -%}
  cast({{ dbt.dateadd('month', n, expr) }} as date)
{%- endmacro %}

{#- Number of month boundaries between two dates (b − a, in months). -#}
{% macro cd_months_between(a, b) -%}
  {{ return(adapter.dispatch('cd_months_between', 'medcom')(a, b)) }}
{%- endmacro %}
{% macro default__cd_months_between(a, b) -%}
  {{ dbt.datediff(a, b, 'month') }}
{%- endmacro %}

{#- Calendar month number 1–12 of a date expression. -#}
{% macro cd_month_number(expr) -%}
  {{ return(adapter.dispatch('cd_month_number', 'medcom')(expr)) }}
{%- endmacro %}
{% macro default__cd_month_number(expr) -%}
  extract(month from {{ expr }})
{%- endmacro %}

{#- Ratio as DOUBLE, NULL when the denominator is 0 or NULL. -#}
{% macro cd_ratio(num, den) -%}
  cast({{ num }} as {{ cd_double() }}) / nullif(cast({{ den }} as {{ cd_double() }}), 0)
{%- endmacro %}
