{#-
  Spark engine (`medcom build --engine spark`). The dbt project is the same on every engine;
  these macros only place things on Spark and do nothing elsewhere.
-#}

{#- The tables of a Spark build are written under var spark_build_root (a fresh folder under the
    lake per build, `+location_root` in dbt_project.yml), from where the build publishes them. -#}

{#- on-run-start: on Spark, every source table of `raw` is a view over its lake folder
    (var lake_raw; hive partition folders part_<org>=… / part_month=… are discovered and
    appear as extra string columns). Works through any dbt-spark connection (session, Spark
    Connect, Thrift), so the lake must be readable by the cluster (MEDCOM_LAKE). -#}
{% macro medcom_register_lake() -%}
  {%- if target.type == 'spark' and execute -%}
    {%- set lake = var('lake_raw', none) -%}
    {%- if lake is none -%}
      {{ exceptions.raise_compiler_error("var lake_raw is not set (medcom build --engine spark passes it)") }}
    {%- endif -%}
    {%- do run_query('create database if not exists raw') -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
      {%- do run_query("create or replace view raw." ~ node.identifier ~ " as select * from parquet.`" ~ lake ~ "/" ~ node.identifier ~ "`") -%}
    {%- endfor -%}
    {#- the audit tables dbt reads (ingest batches, coverage, findings): copied next to the lake at build start -#}
    {%- set audit = var('lake_audit', none) -%}
    {%- if audit is not none -%}
      {%- do run_query('create database if not exists audit') -%}
      {%- for node in graph.sources.values() if node.source_name == 'audit' -%}
        {%- do run_query("create or replace view audit." ~ node.identifier ~ " as select * from parquet.`" ~ audit ~ "/" ~ node.identifier ~ ".parquet`") -%}
      {%- endfor -%}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- Seeds on Spark: dbt-spark's session cursor fills `%s` bindings without escaping quotes, so a
    seed text with an apostrophe ("the county's insured") breaks the insert. The same insert
    with each value as an escaped literal (NULL for empty cells). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for col_name in agate_table.column_names -%}
          {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
          {%- set v = row[loop.index0] -%}
          {%- if v is none -%}cast(null as {{ type }})
          {%- else -%}cast('{{ v | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
          {%- endif -%}
          {%- if not loop.last %},{% endif -%}
        {%- endfor -%}){%- if not loop.last %},{% endif %}
      {% endfor %}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif -%}
  {%- endfor -%}
  {{ return(statements[0]) }}
{% endmacro %}

{#- listagg on Spark with its ORDER BY kept (dbt-spark drops it): sort (keys…, value) structs, then
    join the values; NULL values are left out as on DuckDB. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- set keys = [] -%}
  {%- if order_by_clause -%}
    {%- set clause = order_by_clause | replace('order by', '') | replace('ORDER BY', '') | trim -%}
    {%- for k in clause.split(',') -%}
      {%- do keys.append(k | trim) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set fields -%}{% for k in keys %}'k{{ loop.index }}', {{ k }}, {% endfor %}'v', {{ measure }}{%- endset -%}
  {%- set sorted -%}array_sort(filter(collect_list(named_struct({{ fields }})), x -> x.v is not null)){%- endset -%}
  {%- set values -%}transform({{ sorted }}, x -> x.v){%- endset -%}
  array_join({% if limit_num %}slice({{ values }}, 1, {{ limit_num }}){% else %}{{ values }}{% endif %}, {{ delimiter_text }})
{%- endmacro %}
