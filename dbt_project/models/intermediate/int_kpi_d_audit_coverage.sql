{#-
  audit_coverage_5y 公立机构五年审计覆盖率 (family D), county and city, month only:
    public facilities open at the month's end (opened_on empty or ≤ that day, closed_on empty
    or after it) with an inspection of kind `audit` whose completed_date falls in that month
    or the 59 months before it (window: first day of month − 59 months … month end)
    / public facilities open at the month's end.
  County = the facility's county; city = every county of the city.
-#}

with months as (
    select month, month_end from {{ ref('int_months') }}
),

counties as (select county_code from {{ ref('int_counties') }}),
city as (select city_code from {{ ref('int_city') }}),

-- audit coverage: public facilities open at the month end
public_open as (
    select fm.month, m.month_end, fm.facility_id, fm.county_code
    from {{ ref('int_facilities_by_month') }} fm
    join months m on m.month = fm.month
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
    from public_open po
    join audits a
      on a.facility_id = po.facility_id
     and a.completed_date >= {{ medcom_add_months('po.month', -59) }}
     and a.completed_date <= po.month_end
),

audit_cov as (
    select 'month' as period_type, po.month as period, po.county_code,
           count(a.facility_id) as numerator,
           count(*)             as denominator
    from public_open po
    left join audited a on a.month = po.month and a.facility_id = po.facility_id
    group by po.month, po.county_code
),

county_rows as (
    select 'audit_coverage_5y' as kpi_code, 'county' as org_level, c.county_code as org_id,
           'month' as period_type, m.month as period,
           coalesce(a.numerator, 0) as numerator, coalesce(a.denominator, 0) as denominator
    from months m
    cross join counties c
    left join audit_cov a on a.period = m.month and a.county_code = c.county_code
),

-- county rows plus the city rows (Σ over every county of the city)
all_rows as (
    {{ medcom_county_rows_and_city('county_rows', 'city') }}
)

{{ medcom_kpi_shape('all_rows') }}
