-- Family A 有序就医格局 in the common KPI row shape: the engine's month / ytd rows plus
-- downward_referral_growth (ytd only; like-for-like attribution, int_kpi_a_growth).
with growth as (
    select
        org_level,
        org_id,
        period_type,
        period,
        case when prev_span_loaded then down_current - down_previous end   as numerator,
        case when prev_span_loaded then down_previous end                  as denominator
    from {{ ref('int_kpi_a_growth') }}
),

engine_rows as (
    {{ medcom_kpi_periods(ref('int_kpi_a_monthly')) }}
)

select * from engine_rows
union all
select
    'downward_referral_growth' as kpi_code,
    org_level,
    org_id,
    period_type,
    period,
    {{ medcom_to_double('numerator') }}                 as numerator,
    {{ medcom_to_double('denominator') }}               as denominator,
    {{ medcom_ratio('numerator', 'denominator') }}      as value
from growth
