{#-
  audit_coverage_5y 公立机构五年审计覆盖率 (family D), county and city, month only (a stock):
    public facilities open at the month's end (opened_on empty or ≤ that day, closed_on empty
    or after it) with an inspection of kind `audit` whose completed_date falls in that month
    or the 59 months before it (window: first day of month − 59 months … month end)
    / public facilities open at the month's end.
  Measures by the facility's county; the city (every county of the city) is the engine's.
-#}

with public_open as (
    select fm.month, m.month_end, fm.facility_id, fm.county_code
    from {{ ref('int_facilities_by_month') }} as fm
    inner join {{ ref('int_months') }} as m on m.month = fm.month
    where fm.ownership = 'public'
      and (fm.opened_on is null or fm.opened_on <= m.month_end)
      and (fm.closed_on is null or fm.closed_on > m.month_end)
),

audits as (
    select facility_id, completed_date
    from {{ ref('stg_inspections') }}
    where kind = 'audit' and completed_date is not null
),

audited as (
    select distinct po.month, po.facility_id
    from public_open as po
    inner join audits as a
        on a.facility_id = po.facility_id
       and a.completed_date >= {{ medcom_add_months('po.month', -59) }}
       and a.completed_date <= po.month_end
)

select 'audit_coverage_5y' as kpi_code, 'county' as org_level, po.county_code as org_id,
       po.month, 'month' as basis,
       count(a.facility_id) as numerator,
       count(*)             as denominator
from public_open as po
left join audited as a on a.month = po.month and a.facility_id = po.facility_id
group by po.month, po.county_code
