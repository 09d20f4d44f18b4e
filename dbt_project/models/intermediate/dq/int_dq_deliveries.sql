-- One row per expected delivery: feed × county × month (monthly feeds) or × year (yearly feeds) of
-- the months with data. accepted = an accepted batch covers it (audit.batch_coverage); late = the
-- first accepted batch arrived after day `late_day` (default 10) of the following month; rows and
-- failed batch-level expectations come from the latest accepted batch of each org (county or
-- community) and period.
with feeds as (
    select * from {{ ref('int_dq_feeds') }}
),

counties as (
    select county_code from {{ ref('int_counties') }}
),

months as (
    select month, month_end, year from {{ ref('int_months') }}
),

years as (
    select year, min(month) as period_start, max(month_end) as period_end from months group by year
),

expected as (
    select f.feed, f.cadence, f.via_community, c.county_code, m.month as period_start, m.month_end as period_end
    from feeds as f
    cross join counties as c
    cross join months as m
    where f.cadence = 'month'
    union all
    select f.feed, f.cadence, f.via_community, c.county_code, y.period_start, y.period_end
    from feeds as f
    cross join counties as c
    cross join years as y
    where f.cadence = 'year'
),

communities as (
    select county_code, established_on from {{ ref('stg_communities') }}
),

due as (
    select e.*
    from expected as e
    where not e.via_community
       or exists (
           select 1 from communities as k
           where k.county_code = e.county_code
             and (k.established_on is null or k.established_on <= e.period_end)
       )
),

covered as (
    select
        c.batch_id, c.feed, c.org, c.county, c.period, c.period_start, c.rows_loaded, c.rows_quarantined,
        b.verdict, b.received_at,
        case when b.verdict in ('accepted', 'accepted_with_quarantine') then 1 else 0 end as is_accepted
    from {{ ref('stg_audit__batch_coverage') }} as c
    inner join {{ ref('stg_audit__ingest_batches') }} as b on b.batch_id = c.batch_id
),

ranked as (
    select
        covered.*,
        row_number() over (
            partition by feed, org, period_start order by received_at desc, batch_id desc
        ) as rn
    from covered
    where is_accepted = 1
),

latest as (
    select * from ranked where rn = 1
),

findings as (
    select l.feed, l.county, l.period_start, count(*) as failed_expectations,
           {{ dbt.listagg('f.message', "'; '", 'order by f.message') }} as warnings,
           {{ dbt.listagg('f.message_zh', "'；'", 'order by f.message') }} as warnings_zh
    from latest as l
    inner join {{ ref('stg_audit__dq_findings') }} as f
        on f.batch_id = l.batch_id and f.county = l.org and f.period = l.period
    group by l.feed, l.county, l.period_start
),

received as (
    select
        c.feed, c.county, c.period_start,
        max(c.is_accepted)                                          as accepted,
        max(1 - c.is_accepted)                                      as any_rejected,
        min(case when c.is_accepted = 1 then c.received_at end)     as first_accepted_at
    from covered as c
    group by c.feed, c.county, c.period_start
),

loaded as (
    select feed, county, period_start, sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined
    from latest
    group by feed, county, period_start
)

select
    d.feed,
    d.cadence,
    d.county_code,
    d.period_start,
    d.period_end,
    coalesce(r.accepted, 0)                                         as accepted,
    case when coalesce(r.accepted, 0) = 0 and r.any_rejected = 1 then 1 else 0 end as rejected_only,
    case
        when d.cadence = 'month' and r.first_accepted_at is not null
         and cast(r.first_accepted_at as date) > {{ dbt.dateadd('day', var('late_day', 10), 'd.period_end') }}
        then 1 else 0
    end                                                             as late,
    r.first_accepted_at,
    coalesce(l.rows_loaded, 0)                                      as rows_loaded,
    coalesce(l.rows_quarantined, 0)                                 as rows_quarantined,
    coalesce(f.failed_expectations, 0)                              as failed_expectations,
    f.warnings,
    f.warnings_zh
from due as d
left join received as r
    on r.feed = d.feed and r.county = d.county_code and r.period_start = d.period_start
left join loaded as l
    on l.feed = d.feed and l.county = d.county_code and l.period_start = d.period_start
left join findings as f
    on f.feed = d.feed and f.county = d.county_code and f.period_start = d.period_start
