{#-
  Incremental builds (docs/architecture.md "Incremental builds"). The models at encounter grain
  and the monthly measures computed from them are incremental by month on DuckDB: a build
  re-computes only the months in int_build_months (the months of every row loaded or replaced by
  a batch since the last successful build) — delete those months, insert them anew. Every other
  model is a table rebuilt in full (they read monthly aggregates, so YTD rows and year rows are
  always recomputed from every month). `medcom build --full` (dbt --full-refresh) rebuilds all.

  An incremental model's rows of month M must depend only on month M's rows of its inputs and on
  the registry (whose changes force a full build). Usage in a model:

      {{ config(materialized=medcom_by_month(), incremental_strategy='append',
                pre_hook="{{ medcom_delete_rebuilt_months('month') }}") }}
      -- depends_on: {{ ref('int_build_months') }}
      select … from … where {{ medcom_in_rebuilt_months('month') }}

  Spark (dbt-spark over the Parquet lake) always builds these models as tables: medcom_by_month()
  dispatches to 'table' there, so is_incremental() is false and the filters are `true`.
-#}

{% macro medcom_by_month() -%}
  {{ return(adapter.dispatch('medcom_by_month', 'medcom')()) }}
{%- endmacro %}
{% macro default__medcom_by_month() -%}{{ return('table') }}{%- endmacro %}
{% macro duckdb__medcom_by_month() -%}{{ return('incremental') }}{%- endmacro %}


{#- Whether this build rebuilds everything: dbt --full-refresh (`medcom build --full`, or a build
    that must be full), or an adapter where the by-month models are plain tables (Spark). -#}
{% macro medcom_full_build() -%}
  {{ return(flags.FULL_REFRESH or medcom_by_month() != 'incremental') }}
{%- endmacro %}


{#- The filter of an incremental model: its month column in the months this build rebuilds
    (`true` when the model is built in full). -#}
{% macro medcom_in_rebuilt_months(month_expr) -%}
  {%- if is_incremental() -%}
    {{ month_expr }} in (select month from {{ ref('int_build_months') }})
  {%- else -%}
    1 = 1
  {%- endif -%}
{%- endmacro %}


{#- pre_hook of an incremental model: delete the months this build rebuilds (in the model's
    transaction, before their rows are inserted anew). -#}
{% macro medcom_delete_rebuilt_months(month_column) -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ month_column }} in (select month from {{ ref('int_build_months') }})
  {%- endif -%}
{%- endmacro %}


{#- The month of a row of each activity feed that has one (feeds.md): encounters — visit month,
    discharge month for inpatients (counted when settled); the others their month column or the
    month of their event date. Shared by int_months (the months with data) and int_build_months
    (the months a build must rebuild). -#}
{% macro medcom_feed_months() -%}
  {{ return({
      'encounters': medcom_month_start("case when encounter_type = 'inpatient' then discharge_date else visit_date end"),
      'phs_services': 'month',
      'phs_funds': 'month',
      'fund_prepayments': 'month',
      'inspections': 'planned_month',
      'penalties': medcom_month_start('decided_date'),
      'complaints': medcom_month_start('received_date'),
      'workforce': 'month',
  }) }}
{%- endmacro %}
