{#-
  Family C — fund_in_county_rate and fund_primary_care_share (resident scheme only), kpis.md:
  monthly measures (flows) per directly attributed org.
    fund_in_county_rate     county (insured county), community (catchment)
    fund_primary_care_share county (facility location), community (members)
  The city (plan counties of each month), zero-fill and month / ytd rows are the engine's.
  Incremental by month: a month's measures are sums over that month's encounters.
-#}
{{ config(
    materialized=medcom_by_month(),
    incremental_strategy='append',
    pre_hook="{{ medcom_delete_rebuilt_months('month') }}",
) }}
-- depends_on: {{ ref('int_build_months') }}

-- one pass over the encounters: resident fund_paid by every attribution the KPIs need
with enc as (
    select
        month, insured_county_code, catchment_community_id, member_community_id,
        facility_county_code,
        case when facility_tier is not null then 1 else 0 end as is_registry,
        case when is_primary_care then 1 else 0 end            as is_primary,
        case when is_in_county then 1 else 0 end               as is_in,
        sum(fund_paid)                                         as fund_paid
    from {{ ref('int_encounters_attributed') }}
    where scheme = 'resident'
      and {{ medcom_in_rebuilt_months('month') }}
    group by month, insured_county_code, catchment_community_id, member_community_id,
             facility_county_code,
             case when facility_tier is not null then 1 else 0 end,
             case when is_primary_care then 1 else 0 end,
             case when is_in_county then 1 else 0 end
),

insured_orgs as (
    select 'county' as org_level, insured_county_code as org_id, month,
           case when is_in = 1 then fund_paid else 0 end as spend_in_county,
           fund_paid as spend
    from enc
    union all
    select 'community' as org_level, catchment_community_id as org_id, month,
           case when is_in = 1 then fund_paid else 0 end as spend_in_county,
           fund_paid as spend
    from enc
    where catchment_community_id is not null
),

located_orgs as (
    select 'county' as org_level, facility_county_code as org_id, month,
           case when is_primary = 1 then fund_paid else 0 end as spend_primary,
           fund_paid as spend_registry
    from enc
    where is_registry = 1
    union all
    select 'community' as org_level, member_community_id as org_id, month,
           case when is_primary = 1 then fund_paid else 0 end as spend_primary,
           fund_paid as spend_registry
    from enc
    where is_registry = 1 and member_community_id is not null
)

{{ medcom_measure_rows('insured_orgs', 'fund_in_county_rate', 'spend_in_county', 'spend') }}
union all
{{ medcom_measure_rows('located_orgs', 'fund_primary_care_share', 'spend_primary', 'spend_registry') }}
