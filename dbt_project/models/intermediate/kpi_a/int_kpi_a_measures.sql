-- Family A 有序就医格局: monthly measures (flows) per directly attributed org.
--   Insured-based KPIs (in-county rates, referrals): county = insured county;
--   community = catchment of the insured township on the month's last day.
--   Facility-located KPI (primary-care share, outpatient + emergency at registry facilities):
--   county = facility county; community = member facilities on the month's last day.
-- The city (plan counties of each month), zero-fill and month / ytd rows are the engine's
-- (medcom_kpi_monthly, medcom_kpi_periods); downward_referral_growth is int_kpi_a_growth.
-- Incremental by month: a month's measures are sums over that month's encounters.
{{ config(
    materialized=medcom_by_month(),
    incremental_strategy='append',
    pre_hook="{{ medcom_delete_rebuilt_months('month') }}",
) }}
-- depends_on: {{ ref('int_build_months') }}
with enc as (
    select * from {{ ref('int_encounters_attributed') }}
    where {{ medcom_in_rebuilt_months('month') }}
),

insured as (
    select
        month,
        insured_county_code,
        catchment_community_id,
        count(*)                                                                            as n_all,
        sum(case when is_in_county then 1 else 0 end)                                       as n_in_county,
        sum(case when encounter_type = 'inpatient' then 1 else 0 end)                       as n_inpatient,
        sum(case when encounter_type = 'inpatient' and is_in_county then 1 else 0 end)      as n_inpatient_in_county,
        sum(case when referral = 'up' then 1 else 0 end)                                    as n_up,
        sum(case when referral = 'down' then 1 else 0 end)                                  as n_down
    from enc
    group by month, insured_county_code, catchment_community_id
),

located as (
    select
        month,
        facility_county_code,
        member_community_id,
        sum(case when is_primary_care then 1 else 0 end)                                    as n_oe_primary_care,
        count(*)                                                                            as n_oe_registry
    from enc
    where is_registry_facility
      and encounter_type in ('outpatient', 'emergency')
    group by month, facility_county_code, member_community_id
),

insured_orgs as (
    select 'county' as org_level, insured_county_code as org_id, month,
           n_all, n_in_county, n_inpatient, n_inpatient_in_county, n_up, n_down
    from insured
    union all
    select 'community' as org_level, catchment_community_id as org_id, month,
           n_all, n_in_county, n_inpatient, n_inpatient_in_county, n_up, n_down
    from insured
    where catchment_community_id is not null
),

located_orgs as (
    select 'county' as org_level, facility_county_code as org_id, month, n_oe_primary_care, n_oe_registry
    from located
    union all
    select 'community' as org_level, member_community_id as org_id, month, n_oe_primary_care, n_oe_registry
    from located
    where member_community_id is not null
)

{{ medcom_measure_rows('insured_orgs', 'in_county_visit_rate', 'n_in_county', 'n_all') }}
union all
{{ medcom_measure_rows('insured_orgs', 'in_county_inpatient_rate', 'n_inpatient_in_county', 'n_inpatient') }}
union all
{{ medcom_measure_rows('located_orgs', 'primary_care_visit_share', 'n_oe_primary_care', 'n_oe_registry') }}
union all
{{ medcom_measure_rows('insured_orgs', 'upward_referrals', 'n_up') }}
union all
{{ medcom_measure_rows('insured_orgs', 'downward_referrals', 'n_down') }}
