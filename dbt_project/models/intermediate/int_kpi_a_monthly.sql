-- Family A monthly measures, one row per org × month (zero-filled), levels county, community, city.
--   Insured-based measures (in-county rates, referrals): county = insured county;
--   community = catchment of the insured township on the month's last day.
--   Facility-located measures (primary-care share, outpatient + emergency at registry
--   facilities): county = facility county; community = member facilities on the month's last day.
--   City = sums over the plan counties of the month.
with enc as (
    select * from {{ ref('int_encounters_attributed') }}
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

insured_county as (
    select month, insured_county_code as org_id,
        sum(n_all) as n_all, sum(n_in_county) as n_in_county, sum(n_inpatient) as n_inpatient,
        sum(n_inpatient_in_county) as n_inpatient_in_county, sum(n_up) as n_up, sum(n_down) as n_down
    from insured group by month, insured_county_code
),

insured_community as (
    select month, catchment_community_id as org_id,
        sum(n_all) as n_all, sum(n_in_county) as n_in_county, sum(n_inpatient) as n_inpatient,
        sum(n_inpatient_in_county) as n_inpatient_in_county, sum(n_up) as n_up, sum(n_down) as n_down
    from insured where catchment_community_id is not null group by month, catchment_community_id
),

located_county as (
    select month, facility_county_code as org_id,
        sum(n_oe_primary_care) as n_oe_primary_care, sum(n_oe_registry) as n_oe_registry
    from located group by month, facility_county_code
),

located_community as (
    select month, member_community_id as org_id,
        sum(n_oe_primary_care) as n_oe_primary_care, sum(n_oe_registry) as n_oe_registry
    from located where member_community_id is not null group by month, member_community_id
),

county_rows as (
    select
        'county' as org_level,
        k.county_code as org_id,
        m.month,
        coalesce(i.n_all, 0)                    as n_all,
        coalesce(i.n_in_county, 0)              as n_in_county,
        coalesce(i.n_inpatient, 0)              as n_inpatient,
        coalesce(i.n_inpatient_in_county, 0)    as n_inpatient_in_county,
        coalesce(l.n_oe_primary_care, 0)        as n_oe_primary_care,
        coalesce(l.n_oe_registry, 0)            as n_oe_registry,
        coalesce(i.n_up, 0)                     as n_up,
        coalesce(i.n_down, 0)                   as n_down
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_counties') }} as k
    left join insured_county as i on i.month = m.month and i.org_id = k.county_code
    left join located_county as l on l.month = m.month and l.org_id = k.county_code
),

community_rows as (
    select
        'community' as org_level,
        c.community_id as org_id,
        c.month,
        coalesce(i.n_all, 0)                    as n_all,
        coalesce(i.n_in_county, 0)              as n_in_county,
        coalesce(i.n_inpatient, 0)              as n_inpatient,
        coalesce(i.n_inpatient_in_county, 0)    as n_inpatient_in_county,
        coalesce(l.n_oe_primary_care, 0)        as n_oe_primary_care,
        coalesce(l.n_oe_registry, 0)            as n_oe_registry,
        coalesce(i.n_up, 0)                     as n_up,
        coalesce(i.n_down, 0)                   as n_down
    from {{ ref('int_communities_by_month') }} as c
    left join insured_community as i on i.month = c.month and i.org_id = c.community_id
    left join located_community as l on l.month = c.month and l.org_id = c.community_id
),

city_sums as (
    select
        r.month,
        sum(r.n_all) as n_all, sum(r.n_in_county) as n_in_county, sum(r.n_inpatient) as n_inpatient,
        sum(r.n_inpatient_in_county) as n_inpatient_in_county,
        sum(r.n_oe_primary_care) as n_oe_primary_care, sum(r.n_oe_registry) as n_oe_registry,
        sum(r.n_up) as n_up, sum(r.n_down) as n_down
    from county_rows as r
    inner join {{ ref('int_plan_counties_by_month') }} as p
        on p.month = r.month and p.county_code = r.org_id
    group by r.month
),

city_rows as (
    select
        'city' as org_level,
        c.city_code as org_id,
        m.month,
        coalesce(s.n_all, 0)                    as n_all,
        coalesce(s.n_in_county, 0)              as n_in_county,
        coalesce(s.n_inpatient, 0)              as n_inpatient,
        coalesce(s.n_inpatient_in_county, 0)    as n_inpatient_in_county,
        coalesce(s.n_oe_primary_care, 0)        as n_oe_primary_care,
        coalesce(s.n_oe_registry, 0)            as n_oe_registry,
        coalesce(s.n_up, 0)                     as n_up,
        coalesce(s.n_down, 0)                   as n_down
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_city') }} as c
    left join city_sums as s on s.month = m.month
)

select * from county_rows
union all
select * from community_rows
union all
select * from city_rows
