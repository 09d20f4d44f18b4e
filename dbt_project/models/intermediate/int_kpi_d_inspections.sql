{#-
  Family D (综合监管) KPIs from inspections 监督检查, by the inspected facility's county
  (county, city = every county of the city):
    random_inspection_completion  `random` inspections planned in the period and completed by
                                  the period's last day / `random` inspections planned in the
                                  period                                     month, ytd
    inspection_publication_rate   `random` inspections completed in the period and published
                                  / `random` inspections completed in the period   month, ytd
    enforcement_record_coverage   inspections of any kind completed in the period with
                                  full_record / inspections completed in the period  month, ytd
  (audit_coverage_5y is in int_kpi_d_audit_coverage.)
  Periods: month = that calendar month; ytd = 1 January through the month's last day.
  ytd random_inspection_completion counts inspections planned Jan..month and completed by the
  last day of the month (not a sum of the monthly numerators).
-#}

with months as (
    select month, month_end from {{ ref('int_months') }}
),

windows as (
    select 'month' as period_type, month as period, month as start_date, month_end as end_date
    from months
    union all
    select 'ytd', month, {{ medcom_year_start('month') }}, month_end
    from months
),

counties as (select county_code from {{ ref('int_counties') }}),
city as (select city_code from {{ ref('int_city') }}),

insp as (
    select i.inspection_id, i.kind, i.planned_month, i.completed_date, i.published,
           i.full_record, f.county_code
    from {{ ref('stg_inspections') }} i
    join {{ ref('stg_facilities') }} f on f.facility_id = i.facility_id
),

random_planned as (
    select w.period_type, w.period, i.county_code,
           sum(case when i.completed_date is not null and i.completed_date <= w.end_date
                    then 1 else 0 end) as numerator,
           count(*) as denominator
    from insp i
    join windows w on i.planned_month >= w.start_date and i.planned_month <= w.end_date
    where i.kind = 'random'
    group by w.period_type, w.period, i.county_code
),

completed as (
    select w.period_type, w.period, i.county_code,
           sum(case when i.kind = 'random' and i.published then 1 else 0 end) as random_published,
           sum(case when i.kind = 'random' then 1 else 0 end)                 as random_completed,
           sum(case when i.full_record then 1 else 0 end)                     as full_record,
           count(*)                                                           as all_completed
    from insp i
    join windows w on i.completed_date >= w.start_date and i.completed_date <= w.end_date
    group by w.period_type, w.period, i.county_code
),

facts as (
    select 'random_inspection_completion' as kpi_code, period_type, period, county_code,
           numerator, denominator
    from random_planned
    union all
    select 'inspection_publication_rate', period_type, period, county_code,
           random_published, random_completed
    from completed
    union all
    select 'enforcement_record_coverage', period_type, period, county_code,
           full_record, all_completed
    from completed
),

grid as (
    select k.kpi_code, w.period_type, w.period
    from windows w
    cross join (
        select 'random_inspection_completion' as kpi_code
        union all select 'inspection_publication_rate'
        union all select 'enforcement_record_coverage'
    ) k
),

county_rows as (
    select g.kpi_code, 'county' as org_level, c.county_code as org_id, g.period_type, g.period,
           coalesce(f.numerator, 0) as numerator, coalesce(f.denominator, 0) as denominator
    from grid g
    cross join counties c
    left join facts f
      on f.kpi_code = g.kpi_code and f.period_type = g.period_type
     and f.period = g.period and f.county_code = c.county_code
),

-- county rows plus the city rows (Σ over every county of the city)
all_rows as (
    {{ medcom_county_rows_and_city('county_rows', 'city') }}
)

{{ medcom_kpi_shape('all_rows') }}
