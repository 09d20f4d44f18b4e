{#-
  Family D (综合监管) KPIs from the workforce monthly report 机构执业登记月报 — period month only:
    e_registration_physicians   Σ physicians_e_registered / Σ physicians      facility, community, county, city
    e_registration_nurses       Σ nurses_e_registered / Σ nurses              facility, community, county, city
    e_registration_facilities   facilities with facility_e_registered
                                / facilities reporting workforce that month   community, county, city
    legal_dept_coverage         grade II+ reporting legal_dept / grade II+ reporting     county, city
    quality_committee_coverage  grade II+ reporting quality_committee / grade II+ reporting  county, city
  Ratios of sums. Facility → community by membership as of the month end; county = the
  facility's county; city = every county of the city (not only plan counties).
  Rows: every facility open at the month end (opened_on empty or ≤ month end, closed_on empty
  or after it) plus any facility that reported that month; every community established by the
  month end; every county of the city; the city — for every month of int_months.
-#}

with months as (
    select month, month_end from {{ ref('int_months') }}
),

facility_months as (
    select fm.month, m.month_end, fm.facility_id, fm.county_code, fm.community_id,
           fm.is_grade2_plus, fm.opened_on, fm.closed_on
    from {{ ref('int_facilities_by_month') }} fm
    join months m on m.month = fm.month
),

wf as (
    select
        fm.month, fm.facility_id, fm.county_code, fm.community_id,
        w.physicians, w.physicians_e_registered, w.nurses, w.nurses_e_registered,
        case when w.facility_e_registered then 1 else 0 end as fac_e_reg,
        case when fm.is_grade2_plus then 1 else 0 end as g2,
        case when fm.is_grade2_plus and w.legal_dept then 1 else 0 end as g2_legal,
        case when fm.is_grade2_plus and w.quality_committee then 1 else 0 end as g2_quality
    from {{ ref('stg_workforce') }} w
    join facility_months fm on fm.facility_id = w.facility_id and fm.month = w.month
),

-- ------------------------------------------------------------------ facility level
facility_rows as (
    select fm.month, fm.facility_id,
           coalesce(wf.physicians_e_registered, 0) as phys_num,
           coalesce(wf.physicians, 0)              as phys_den,
           coalesce(wf.nurses_e_registered, 0)     as nurse_num,
           coalesce(wf.nurses, 0)                  as nurse_den
    from facility_months fm
    left join wf on wf.facility_id = fm.facility_id and wf.month = fm.month
    where wf.facility_id is not null
       or ((fm.opened_on is null or fm.opened_on <= fm.month_end)
           and (fm.closed_on is null or fm.closed_on > fm.month_end))
),

-- ------------------------------------------------------------------ aggregates
by_community as (
    select month, community_id,
           sum(physicians_e_registered) as phys_num, sum(physicians) as phys_den,
           sum(nurses_e_registered) as nurse_num, sum(nurses) as nurse_den,
           sum(fac_e_reg) as fac_num, count(*) as fac_den
    from wf
    where community_id is not null
    group by month, community_id
),

by_county as (
    select month, county_code,
           sum(physicians_e_registered) as phys_num, sum(physicians) as phys_den,
           sum(nurses_e_registered) as nurse_num, sum(nurses) as nurse_den,
           sum(fac_e_reg) as fac_num, count(*) as fac_den,
           sum(g2_legal) as legal_num, sum(g2_quality) as quality_num, sum(g2) as g2_den
    from wf
    group by month, county_code
),

community_rows as (
    select cm.month, cm.community_id,
           coalesce(a.phys_num, 0) as phys_num, coalesce(a.phys_den, 0) as phys_den,
           coalesce(a.nurse_num, 0) as nurse_num, coalesce(a.nurse_den, 0) as nurse_den,
           coalesce(a.fac_num, 0) as fac_num, coalesce(a.fac_den, 0) as fac_den
    from {{ ref('int_communities_by_month') }} cm
    join months m on m.month = cm.month
    left join by_community a on a.month = cm.month and a.community_id = cm.community_id
),

county_rows as (
    select m.month, c.county_code,
           coalesce(a.phys_num, 0) as phys_num, coalesce(a.phys_den, 0) as phys_den,
           coalesce(a.nurse_num, 0) as nurse_num, coalesce(a.nurse_den, 0) as nurse_den,
           coalesce(a.fac_num, 0) as fac_num, coalesce(a.fac_den, 0) as fac_den,
           coalesce(a.legal_num, 0) as legal_num, coalesce(a.quality_num, 0) as quality_num,
           coalesce(a.g2_den, 0) as g2_den
    from months m
    cross join {{ ref('int_counties') }} c
    left join by_county a on a.month = m.month and a.county_code = c.county_code
),

city_rows as (
    select cr.month, ci.city_code,
           sum(cr.phys_num) as phys_num, sum(cr.phys_den) as phys_den,
           sum(cr.nurse_num) as nurse_num, sum(cr.nurse_den) as nurse_den,
           sum(cr.fac_num) as fac_num, sum(cr.fac_den) as fac_den,
           sum(cr.legal_num) as legal_num, sum(cr.quality_num) as quality_num,
           sum(cr.g2_den) as g2_den
    from county_rows cr
    cross join {{ ref('int_city') }} ci
    group by cr.month, ci.city_code
),

long_rows as (
    select 'e_registration_physicians' as kpi_code, 'facility' as org_level, facility_id as org_id,
           month, phys_num as numerator, phys_den as denominator
    from facility_rows
    union all
    select 'e_registration_nurses', 'facility', facility_id, month, nurse_num, nurse_den from facility_rows
    union all
    select 'e_registration_physicians', 'community', community_id, month, phys_num, phys_den from community_rows
    union all
    select 'e_registration_nurses', 'community', community_id, month, nurse_num, nurse_den from community_rows
    union all
    select 'e_registration_facilities', 'community', community_id, month, fac_num, fac_den from community_rows
    union all
    select 'e_registration_physicians', 'county', county_code, month, phys_num, phys_den from county_rows
    union all
    select 'e_registration_nurses', 'county', county_code, month, nurse_num, nurse_den from county_rows
    union all
    select 'e_registration_facilities', 'county', county_code, month, fac_num, fac_den from county_rows
    union all
    select 'legal_dept_coverage', 'county', county_code, month, legal_num, g2_den from county_rows
    union all
    select 'quality_committee_coverage', 'county', county_code, month, quality_num, g2_den from county_rows
    union all
    select 'e_registration_physicians', 'city', city_code, month, phys_num, phys_den from city_rows
    union all
    select 'e_registration_nurses', 'city', city_code, month, nurse_num, nurse_den from city_rows
    union all
    select 'e_registration_facilities', 'city', city_code, month, fac_num, fac_den from city_rows
    union all
    select 'legal_dept_coverage', 'city', city_code, month, legal_num, g2_den from city_rows
    union all
    select 'quality_committee_coverage', 'city', city_code, month, quality_num, g2_den from city_rows
)

{{ medcom_kpi_shape('long_rows', period_type="'month'", period='month') }}
