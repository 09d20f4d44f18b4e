-- Family B monthly measures, one row per org × month (zero-filled), levels county (facility
-- location), community (member facilities on the month's last day), township (facility township:
-- own, else the parent's), city (sums over the plan counties of the month).
--   task_*: Σ units × weight (phs_weights for the service and year, 1.0 where none is given)
--   fund_*: Σ amount paid
with services as (
    select
        s.month,
        s.facility_id,
        sum(s.units * coalesce(w.weight, 1.0))      as weighted_units
    from {{ ref('stg_phs_services') }} as s
    left join {{ ref('stg_phs_weights') }} as w
        on w.service_code = s.service_code
       and w.year = {{ medcom_year('s.month') }}
    group by s.month, s.facility_id
),

funds as (
    select month, facility_id, sum(amount) as amount
    from {{ ref('stg_phs_funds') }}
    group by month, facility_id
),

activity as (
    select
        coalesce(s.month, f.month)                  as month,
        coalesce(s.facility_id, f.facility_id)      as facility_id,
        coalesce(s.weighted_units, 0)               as weighted_units,
        coalesce(f.amount, 0)                       as amount
    from services as s
    full outer join funds as f
        on f.month = s.month and f.facility_id = s.facility_id
),

attributed as (
    select
        a.month,
        fm.county_code,
        fm.township_code,
        fm.community_id,
        case when fm.tier = 'village' then a.weighted_units else 0 end     as task_village,
        a.weighted_units                                                    as task_all,
        case when fm.tier = 'village' then a.amount else 0 end             as fund_village,
        a.amount                                                            as fund_all
    from activity as a
    inner join {{ ref('int_facilities_by_month') }} as fm
        on fm.facility_id = a.facility_id and fm.month = a.month
),

by_county as (
    select month, county_code as org_id, sum(task_village) as task_village, sum(task_all) as task_all,
        sum(fund_village) as fund_village, sum(fund_all) as fund_all
    from attributed group by month, county_code
),

by_community as (
    select month, community_id as org_id, sum(task_village) as task_village, sum(task_all) as task_all,
        sum(fund_village) as fund_village, sum(fund_all) as fund_all
    from attributed where community_id is not null group by month, community_id
),

by_township as (
    select month, township_code as org_id, sum(task_village) as task_village, sum(task_all) as task_all,
        sum(fund_village) as fund_village, sum(fund_all) as fund_all
    from attributed where township_code is not null group by month, township_code
),

county_rows as (
    select 'county' as org_level, k.county_code as org_id, m.month,
        coalesce(b.task_village, 0) as task_village, coalesce(b.task_all, 0) as task_all,
        coalesce(b.fund_village, 0) as fund_village, coalesce(b.fund_all, 0) as fund_all
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_counties') }} as k
    left join by_county as b on b.month = m.month and b.org_id = k.county_code
),

community_rows as (
    select 'community' as org_level, c.community_id as org_id, c.month,
        coalesce(b.task_village, 0) as task_village, coalesce(b.task_all, 0) as task_all,
        coalesce(b.fund_village, 0) as fund_village, coalesce(b.fund_all, 0) as fund_all
    from {{ ref('int_communities_by_month') }} as c
    left join by_community as b on b.month = c.month and b.org_id = c.community_id
),

township_rows as (
    select 'township' as org_level, t.township_code as org_id, t.month,
        coalesce(b.task_village, 0) as task_village, coalesce(b.task_all, 0) as task_all,
        coalesce(b.fund_village, 0) as fund_village, coalesce(b.fund_all, 0) as fund_all
    from {{ ref('int_townships_by_month') }} as t
    left join by_township as b on b.month = t.month and b.org_id = t.township_code
),

city_sums as (
    select r.month, sum(r.task_village) as task_village, sum(r.task_all) as task_all,
        sum(r.fund_village) as fund_village, sum(r.fund_all) as fund_all
    from county_rows as r
    inner join {{ ref('int_plan_counties_by_month') }} as p
        on p.month = r.month and p.county_code = r.org_id
    group by r.month
),

city_rows as (
    select 'city' as org_level, c.city_code as org_id, m.month,
        coalesce(s.task_village, 0) as task_village, coalesce(s.task_all, 0) as task_all,
        coalesce(s.fund_village, 0) as fund_village, coalesce(s.fund_all, 0) as fund_all
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_city') }} as c
    left join city_sums as s on s.month = m.month
)

select * from county_rows
union all
select * from community_rows
union all
select * from township_rows
union all
select * from city_rows
