-- All five families in the common KPI row shape (typed uniformly).
{% set families = ['int_kpi_family_a', 'int_kpi_family_b', 'int_kpi_family_c', 'int_kpi_family_d', 'int_kpi_family_e'] %}
{% for f in families %}
select
    cast(kpi_code as {{ dbt.type_string() }})       as kpi_code,
    cast(org_level as {{ dbt.type_string() }})      as org_level,
    cast(org_id as {{ dbt.type_string() }})         as org_id,
    cast(period_type as {{ dbt.type_string() }})    as period_type,
    cast(period as date)                            as period,
    {{ medcom_to_double('numerator') }}             as numerator,
    {{ medcom_to_double('denominator') }}           as denominator,
    {{ medcom_to_double('value') }}                 as value
from {{ ref(f) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
