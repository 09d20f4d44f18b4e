-- Every month from the first to the last month with loaded activity data (any activity feed,
-- families A–D): encounter month (discharge month for inpatients), phs_services, phs_funds,
-- fund_prepayments, inspections (planned month), penalties (decided), complaints (received),
-- workforce.
with bounds_by_feed as (
    select
        min({{ medcom_month_start("case when encounter_type = 'inpatient' then discharge_date else visit_date end") }}) as first_month,
        max({{ medcom_month_start("case when encounter_type = 'inpatient' then discharge_date else visit_date end") }}) as last_month
    from {{ ref('stg_encounters') }}
    union all
    select min(month), max(month) from {{ ref('stg_phs_services') }}
    union all
    select min(month), max(month) from {{ ref('stg_phs_funds') }}
    union all
    select min(month), max(month) from {{ ref('stg_fund_prepayments') }}
    union all
    select min(planned_month), max(planned_month) from {{ ref('stg_inspections') }}
    union all
    select min({{ medcom_month_start('decided_date') }}), max({{ medcom_month_start('decided_date') }}) from {{ ref('stg_penalties') }}
    union all
    select min({{ medcom_month_start('received_date') }}), max({{ medcom_month_start('received_date') }}) from {{ ref('stg_complaints') }}
    union all
    select min(month), max(month) from {{ ref('stg_workforce') }}
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
