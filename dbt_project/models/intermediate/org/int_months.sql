-- Every month from the first to the last month with loaded activity data (any activity feed,
-- families A–D): encounter month (discharge month for inpatients), phs_services, phs_funds,
-- fund_prepayments, inspections (planned month), penalties (decided), complaints (received),
-- workforce (macro medcom_feed_months).
with bounds_by_feed as (
    {% for feed, month in medcom_feed_months().items() -%}
    select min({{ month }}) as first_month, max({{ month }}) as last_month from {{ ref('stg_' ~ feed) }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
),

bounds as (
    select
        {{ medcom_month_start('min(first_month)') }} as first_month,
        {{ medcom_month_start('max(last_month)') }}  as last_month
    from bounds_by_feed
),

spine as (
    {{ dbt.generate_series(1200) }}
),

months as (
    select {{ medcom_add_months('b.first_month', 's.generated_number - 1') }} as month
    from bounds as b
    cross join spine as s
    where b.first_month is not null
      and s.generated_number - 1 <= {{ medcom_months_between('b.first_month', 'b.last_month') }}
)

select
    month,
    {{ medcom_month_end('month') }}     as month_end,
    {{ medcom_year('month') }}          as year
from months
