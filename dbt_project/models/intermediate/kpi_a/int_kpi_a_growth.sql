-- downward_referral_growth (ytd only), like for like: for the period month P of year Y, the
-- down-referrals of January..P (current) and of January..P−12 months (previous year's span) are
-- BOTH attributed with the catchments (community level) and plan counties (city level) as of P's
-- month end. prev_span_loaded is true only when encounters were loaded for every month of the
-- previous year's span — per insured county (the encounters' coverage key is insured county ×
-- month): a county needs its own months, a community its county's, the city every plan county's
-- (plan counties of the period's month end), the province every plan county of its cities.
with down_by_township as (
    select
        month,
        insured_township_code,
        insured_county_code,
        count(*) as n_down
    from {{ ref('int_encounters_attributed') }}
    where referral = 'down'
    group by month, insured_township_code, insured_county_code
),

loaded_county_months as (
    select distinct insured_county_code as county_code, month
    from {{ ref('int_encounters_attributed') }}
),

periods as (
    select
        month                                                               as period,
        {{ medcom_year_start('month') }}                                    as year_start,
        {{ medcom_add_months(medcom_year_start('month'), -12) }}            as prev_start,
        {{ medcom_add_months('month', -12) }}                               as prev_end,
        {{ medcom_month_number('month') }}                                  as months_in_span
    from {{ ref('int_months') }}
),

span_check as (
    select
        p.period,
        k.county_code,
        case when count(l.month) = max(p.months_in_span) then 1 else 0 end as prev_span_loaded
    from periods as p
    cross join {{ ref('int_counties') }} as k
    left join loaded_county_months as l
        on l.county_code = k.county_code
       and l.month >= p.prev_start
       and l.month <= p.prev_end
    group by p.period, k.county_code
),

by_township as (
    select
        p.period,
        d.insured_township_code,
        d.insured_county_code,
        sum(case when d.month >= p.year_start then d.n_down else 0 end)    as down_current,
        sum(case when d.month <= p.prev_end then d.n_down else 0 end)      as down_previous
    from periods as p
    inner join down_by_township as d
        on d.month >= p.prev_start
       and d.month <= p.period
       and (d.month >= p.year_start or d.month <= p.prev_end)
    group by p.period, d.insured_township_code, d.insured_county_code
),

by_county as (
    select period, insured_county_code as org_id,
        sum(down_current) as down_current, sum(down_previous) as down_previous
    from by_township
    group by period, insured_county_code
),

by_community as (
    select b.period, t.community_id as org_id,
        sum(b.down_current) as down_current, sum(b.down_previous) as down_previous
    from by_township as b
    inner join {{ ref('int_townships_by_month') }} as t
        on t.month = b.period and t.township_code = b.insured_township_code
    where t.community_id is not null
    group by b.period, t.community_id
),

county_rows as (
    select 'county' as org_level, k.county_code as org_id, m.month as period,
        coalesce(b.down_current, 0) as down_current, coalesce(b.down_previous, 0) as down_previous,
        s.prev_span_loaded
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_counties') }} as k
    left join by_county as b on b.period = m.month and b.org_id = k.county_code
    inner join span_check as s on s.period = m.month and s.county_code = k.county_code
),

community_rows as (
    select 'community' as org_level, c.community_id as org_id, c.month as period,
        coalesce(b.down_current, 0) as down_current, coalesce(b.down_previous, 0) as down_previous,
        coalesce(s.prev_span_loaded, 0) as prev_span_loaded
    from {{ ref('int_communities_by_month') }} as c
    left join by_community as b on b.period = c.month and b.org_id = c.community_id
    left join span_check as s on s.period = c.month and s.county_code = c.county_code
),

plan_county_rows as (
    select r.*, p.city_code, c.province_code
    from county_rows as r
    inner join {{ ref('int_plan_counties_by_month') }} as p
        on p.month = r.period and p.county_code = r.org_id
    inner join {{ ref('int_city') }} as c
        on c.city_code = p.city_code
),

city_sums as (
    select period, city_code, sum(down_current) as down_current, sum(down_previous) as down_previous,
        min(prev_span_loaded) as prev_span_loaded
    from plan_county_rows
    group by period, city_code
),

city_rows as (
    select 'city' as org_level, c.city_code as org_id, m.month as period,
        coalesce(s.down_current, 0) as down_current, coalesce(s.down_previous, 0) as down_previous,
        coalesce(s.prev_span_loaded, 0) as prev_span_loaded
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_city') }} as c
    left join city_sums as s on s.period = m.month and s.city_code = c.city_code
),

-- the province: the sums of its cities (= of every plan county of its cities)
province_sums as (
    select period, province_code, sum(down_current) as down_current, sum(down_previous) as down_previous,
        min(prev_span_loaded) as prev_span_loaded
    from plan_county_rows
    where province_code is not null
    group by period, province_code
),

province_rows as (
    select 'province' as org_level, pr.province_code as org_id, m.month as period,
        coalesce(s.down_current, 0) as down_current, coalesce(s.down_previous, 0) as down_previous,
        coalesce(s.prev_span_loaded, 0) as prev_span_loaded
    from {{ ref('int_months') }} as m
    cross join {{ ref('int_province') }} as pr
    left join province_sums as s on s.period = m.month and s.province_code = pr.province_code
),

all_rows as (
    select * from county_rows
    union all
    select * from community_rows
    union all
    select * from city_rows
    union all
    select * from province_rows
)

select
    org_level,
    org_id,
    'ytd' as period_type,
    period,
    down_current,
    down_previous,
    prev_span_loaded = 1 as prev_span_loaded
from all_rows
