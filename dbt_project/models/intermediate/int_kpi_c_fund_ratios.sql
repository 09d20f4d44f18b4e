{#-
  Family C — fund_in_county_rate and fund_primary_care_share (resident scheme only), kpis.md.
    fund_in_county_rate     county (insured county), community (catchment), city (plan counties)
    fund_primary_care_share county (facility location), community (members), city (plan counties)
  Periods month and ytd. Rows: every county of the city and the city for every month of
  int_months; every community from its establishment month.
-#}

with months as (
    select month, month_end, year from {{ ref('int_months') }}
),

-- one pass over the encounters: resident fund_paid by every attribution the KPIs need
-- (low cardinality; the per-level aggregates below roll this up)
enc as (
    select
        month, insured_county_code, catchment_community_id, member_community_id,
        facility_county_code,
        case when facility_tier is not null then 1 else 0 end as is_registry,
        case when is_primary_care then 1 else 0 end            as is_primary,
        case when is_in_county then 1 else 0 end               as is_in,
        sum(fund_paid)                                         as fund_paid
    from {{ ref('int_encounters_attributed') }}
    where scheme = 'resident'
    group by month, insured_county_code, catchment_community_id, member_community_id,
             facility_county_code,
             case when facility_tier is not null then 1 else 0 end,
             case when is_primary_care then 1 else 0 end,
             case when is_in_county then 1 else 0 end
),

counties as (select county_code from {{ ref('int_counties') }}),
city as (select city_code from {{ ref('int_city') }}),

county_months as (
    select m.month, m.year, c.county_code
    from months m cross join counties c
),

community_months as (
    select cm.month, m.year, cm.community_id
    from {{ ref('int_communities_by_month') }} cm
    join months m on m.month = cm.month
),

plan_county_months as (
    select month, county_code from {{ ref('int_plan_counties_by_month') }}
),

-- ---------------------------------------------------------------- spend aggregates
by_insured_county as (
    select month, insured_county_code as county_code,
           sum(fund_paid) as spend,
           sum(case when is_in = 1 then fund_paid else 0 end) as spend_in_county
    from enc
    group by month, insured_county_code
),

by_catchment as (
    select month, catchment_community_id as community_id,
           sum(fund_paid) as spend,
           sum(case when is_in = 1 then fund_paid else 0 end) as spend_in_county
    from enc
    where catchment_community_id is not null
    group by month, catchment_community_id
),

by_facility_county as (
    select month, facility_county_code as county_code,
           sum(fund_paid) as spend_registry,
           sum(case when is_primary = 1 then fund_paid else 0 end) as spend_primary
    from enc
    where is_registry = 1
    group by month, facility_county_code
),

by_member as (
    select month, member_community_id as community_id,
           sum(fund_paid) as spend_registry,
           sum(case when is_primary = 1 then fund_paid else 0 end) as spend_primary
    from enc
    where member_community_id is not null and is_registry = 1
    group by month, member_community_id
),

-- ---------------------------------------------------------------- monthly rows (month)
county_monthly as (
    select cm.month, cm.year, cm.county_code,
           coalesce(i.spend_in_county, 0) as in_county_num,
           coalesce(i.spend, 0)           as in_county_den,
           coalesce(f.spend_primary, 0)   as primary_num,
           coalesce(f.spend_registry, 0)  as primary_den
    from county_months cm
    left join by_insured_county i on i.month = cm.month and i.county_code = cm.county_code
    left join by_facility_county f on f.month = cm.month and f.county_code = cm.county_code
),

community_monthly as (
    select cm.month, cm.year, cm.community_id,
           coalesce(c.spend_in_county, 0) as in_county_num,
           coalesce(c.spend, 0)           as in_county_den,
           coalesce(mb.spend_primary, 0)  as primary_num,
           coalesce(mb.spend_registry, 0) as primary_den
    from community_months cm
    left join by_catchment c on c.month = cm.month and c.community_id = cm.community_id
    left join by_member mb on mb.month = cm.month and mb.community_id = cm.community_id
),

city_monthly as (
    select m.month, m.year, ci.city_code,
           coalesce(sum(cty.in_county_num), 0) as in_county_num,
           coalesce(sum(cty.in_county_den), 0) as in_county_den,
           coalesce(sum(cty.primary_num), 0)   as primary_num,
           coalesce(sum(cty.primary_den), 0)   as primary_den
    from months m
    cross join city ci
    left join plan_county_months p on p.month = m.month
    left join county_monthly cty on cty.month = p.month and cty.county_code = p.county_code
    group by m.month, m.year, ci.city_code
),

-- long form: ratio KPIs whose ytd is the sum of the monthly numerators / denominators
ratio_monthly as (
    select 'fund_in_county_rate' as kpi_code, 'county' as org_level, county_code as org_id,
           month, year, in_county_num as numerator, in_county_den as denominator
    from county_monthly
    union all
    select 'fund_primary_care_share', 'county', county_code, month, year, primary_num, primary_den
    from county_monthly
    union all
    select 'fund_in_county_rate', 'community', community_id, month, year, in_county_num, in_county_den
    from community_monthly
    union all
    select 'fund_primary_care_share', 'community', community_id, month, year, primary_num, primary_den
    from community_monthly
    union all
    select 'fund_in_county_rate', 'city', city_code, month, year, in_county_num, in_county_den
    from city_monthly
    union all
    select 'fund_primary_care_share', 'city', city_code, month, year, primary_num, primary_den
    from city_monthly
),

ratio_rows as (
    select kpi_code, org_level, org_id, 'month' as period_type, month as period,
           numerator, denominator
    from ratio_monthly
    union all
    select kpi_code, org_level, org_id, 'ytd' as period_type, month as period,
           sum(numerator) over (
               partition by kpi_code, org_level, org_id, year order by month
               rows between unbounded preceding and current row),
           sum(denominator) over (
               partition by kpi_code, org_level, org_id, year order by month
               rows between unbounded preceding and current row)
    from ratio_monthly
)

{{ medcom_kpi_shape('ratio_rows') }}
