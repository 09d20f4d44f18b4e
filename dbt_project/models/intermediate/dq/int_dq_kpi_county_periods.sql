-- Data quality behind a KPI for one county and period (month, ytd = January to the month, year):
-- the expected deliveries of the KPI's source feeds (kpi_catalogue.source_feeds ∩ int_dq_feeds) in
-- the period's months (monthly feeds) or its year (yearly feeds), how many were accepted, their rows
-- loaded / quarantined, and their failed batch-level expectations.
with kpi_feeds as (
    select k.kpi_code, f.feed
    from {{ ref('kpi_catalogue') }} as k
    inner join {{ ref('int_dq_feeds') }} as f
        on {{ dbt.concat(["' '", 'k.source_feeds', "' '"]) }} like {{ dbt.concat(["'% '", 'f.feed', "' %'"]) }}
),

months as (
    select month, year from {{ ref('int_months') }}
),

periods as (
    select 'month' as period_type, month as period, month as window_start, month as window_end, year from months
    union all
    select 'ytd', month, {{ medcom_year_start('month') }}, month, year from months
    union all
    select 'year', min({{ medcom_year_start('month') }}), min({{ medcom_year_start('month') }}), max(month), year
    from months group by year
),

deliveries as (
    select * from {{ ref('int_dq_deliveries') }}
),

windowed as (
    select
        kf.kpi_code, d.county_code, p.period_type, p.period, d.feed, d.period_start,
        case
            when d.cadence = 'month' then {{ medcom_left('cast(d.period_start as ' ~ api.Column.translate_type('string') ~ ')', 7) }}
            else {{ medcom_left('cast(d.period_start as ' ~ api.Column.translate_type('string') ~ ')', 4) }}
        end as period_label,
        d.accepted, d.late, d.rows_loaded, d.rows_quarantined, d.failed_expectations, d.warnings, d.warnings_zh
    from kpi_feeds as kf
    inner join deliveries as d on d.feed = kf.feed
    inner join periods as p
        on (d.cadence = 'month' and d.period_start >= p.window_start and d.period_start <= p.window_end)
        or (d.cadence = 'year' and {{ medcom_year('d.period_start') }} = p.year)
)

select
    kpi_code,
    county_code,
    period_type,
    period,
    count(*)                                                        as expected_deliveries,
    sum(accepted)                                                   as accepted_deliveries,
    sum(late)                                                       as late_deliveries,
    sum(rows_loaded)                                                as rows_loaded,
    sum(rows_quarantined)                                           as rows_quarantined,
    sum(failed_expectations)                                        as failed_expectations,
    {{ dbt.listagg(
        "case when accepted = 0 then " ~ dbt.concat(['feed', "' '", 'county_code', "' '", 'period_label']) ~ " end",
        "', '", 'order by period_start, feed') }}                   as missing,
    {{ dbt.listagg('warnings', "'; '", 'order by period_start, feed') }} as warnings,
    {{ dbt.listagg('warnings_zh', "'；'", 'order by period_start, feed') }} as warnings_zh
from windowed
group by kpi_code, county_code, period_type, period
