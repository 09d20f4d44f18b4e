-- Family A 有序就医格局 in the common KPI row shape.
with p as (
    select * from {{ ref('int_kpi_a_periods') }}
),

growth as (
    select
        org_level,
        org_id,
        period_type,
        period,
        case when prev_span_loaded then down_current - down_previous end   as numerator,
        case when prev_span_loaded then down_previous end                  as denominator
    from {{ ref('int_kpi_a_growth') }}
)

{{ medcom_kpi_rows('p', 'in_county_visit_rate', 'n_in_county', 'n_all') }}
union all
{{ medcom_kpi_rows('p', 'in_county_inpatient_rate', 'n_inpatient_in_county', 'n_inpatient') }}
union all
{{ medcom_kpi_rows('p', 'primary_care_visit_share', 'n_oe_primary_care', 'n_oe_registry') }}
union all
{{ medcom_kpi_rows('p', 'upward_referrals', 'n_up', kind='count') }}
union all
{{ medcom_kpi_rows('p', 'downward_referrals', 'n_down', kind='count') }}
union all
{{ medcom_kpi_rows('growth', 'downward_referral_growth', 'numerator', 'denominator') }}
