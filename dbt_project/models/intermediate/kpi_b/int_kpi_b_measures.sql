-- Family B 村卫生室承担基本公卫任务: monthly measures (flows) per directly attributed org:
-- county (facility location), community (member facilities on the month's last day),
-- township (facility township: own, else the parent's).
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

orgs as (
    select 'county' as org_level, county_code as org_id, month, task_village, task_all, fund_village, fund_all
    from attributed
    union all
    select 'community' as org_level, community_id as org_id, month, task_village, task_all, fund_village, fund_all
    from attributed
    where community_id is not null
    union all
    select 'township' as org_level, township_code as org_id, month, task_village, task_all, fund_village, fund_all
    from attributed
    where township_code is not null
)

{{ medcom_measure_rows('orgs', 'village_phs_task_share', 'task_village', 'task_all') }}
union all
{{ medcom_measure_rows('orgs', 'village_phs_fund_share', 'fund_village', 'fund_all') }}
