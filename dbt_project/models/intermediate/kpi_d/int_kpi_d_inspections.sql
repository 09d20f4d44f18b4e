{#-
  Family D (综合监管) KPIs from inspections 监督检查: measures by the inspected facility's county
  (the city = every county of the city, the engine's):
    random_inspection_completion  `random` inspections planned in the period and completed by
                                  the period's last day / `random` inspections planned in the
                                  period                                     month, ytd
    inspection_publication_rate   `random` inspections completed in the period and published
                                  / `random` inspections completed in the period   month, ytd
    enforcement_record_coverage   inspections of any kind completed in the period with
                                  full_record / inspections completed in the period  month, ytd
  (audit_coverage_5y is in int_kpi_d_audit_coverage.)
  Periods: month = that calendar month; ytd = 1 January through the month's last day.
  Publication and record coverage are flows by completion month. random_inspection_completion's
  ytd counts inspections planned Jan..month and completed by the last day of the month — not
  a sum of the monthly numerators — so it gives `month` and `ytd` measure rows.
-#}

with months as (
    select month, month_end from {{ ref('int_months') }}
),

windows as (
    select 'month' as basis, month, month as start_date, month_end as end_date
    from months
    union all
    select 'ytd' as basis, month, {{ medcom_year_start('month') }} as start_date, month_end as end_date
    from months
),

insp as (
    select i.inspection_id, i.kind, i.planned_month, i.completed_date, i.published,
           i.full_record, f.county_code
    from {{ ref('stg_inspections') }} as i
    inner join {{ ref('stg_facilities') }} as f on f.facility_id = i.facility_id
),

random_planned as (
    select 'county' as org_level, i.county_code as org_id, w.month, w.basis,
           sum(case when i.completed_date is not null and i.completed_date <= w.end_date
                    then 1 else 0 end) as numerator,
           count(*) as denominator
    from insp as i
    inner join windows as w on i.planned_month >= w.start_date and i.planned_month <= w.end_date
    where i.kind = 'random'
    group by i.county_code, w.month, w.basis
),

completed as (
    select 'county' as org_level, county_code as org_id,
           {{ medcom_month_start('completed_date') }} as month,
           case when kind = 'random' and published then 1 else 0 end     as random_published,
           case when kind = 'random' then 1 else 0 end                   as random_completed,
           case when full_record then 1 else 0 end                       as full_record,
           1                                                             as all_completed
    from insp
    where completed_date is not null
)

select 'random_inspection_completion' as kpi_code, org_level, org_id, month, basis, numerator, denominator
from random_planned
union all
{{ medcom_measure_rows('completed', 'inspection_publication_rate', 'random_published', 'random_completed') }}
union all
{{ medcom_measure_rows('completed', 'enforcement_record_coverage', 'full_record', 'all_completed') }}
