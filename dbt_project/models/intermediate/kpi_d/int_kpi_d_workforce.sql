{#-
  Family D (综合监管) KPIs from the workforce monthly report 机构执业登记月报 — period month only:
    e_registration_physicians   Σ physicians_e_registered / Σ physicians      facility, community, county, city
    e_registration_nurses       Σ nurses_e_registered / Σ nurses              facility, community, county, city
    e_registration_facilities   facilities with facility_e_registered
                                / facilities reporting workforce that month   community, county, city
    legal_dept_coverage         grade II+ reporting legal_dept / grade II+ reporting     county, city
    quality_committee_coverage  grade II+ reporting quality_committee / grade II+ reporting  county, city
  Ratios of sums. Facility → community by membership as of the month end; county = the
  facility's county; city = every county of the city (not only plan counties; the engine's).
  Measures (basis `month`: stocks): facility rows for every facility open at the month end
  (opened_on empty or ≤ month end, closed_on empty or after it) plus any facility that
  reported that month; community and county rows from the reporting facilities (the engine
  zero-fills every community established by the month end and every county).
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

orgs as (
    select 'community' as org_level, community_id as org_id, month,
           physicians_e_registered, physicians, nurses_e_registered, nurses, fac_e_reg,
           g2, g2_legal, g2_quality
    from wf
    where community_id is not null
    union all
    select 'county' as org_level, county_code as org_id, month,
           physicians_e_registered, physicians, nurses_e_registered, nurses, fac_e_reg,
           g2, g2_legal, g2_quality
    from wf
),

facility_orgs as (
    select 'facility' as org_level, facility_id as org_id, month, phys_num, phys_den, nurse_num, nurse_den
    from facility_rows
)

{{ medcom_measure_rows('facility_orgs', 'e_registration_physicians', 'phys_num', 'phys_den', basis='month') }}
union all
{{ medcom_measure_rows('facility_orgs', 'e_registration_nurses', 'nurse_num', 'nurse_den', basis='month') }}
union all
{{ medcom_measure_rows('orgs', 'e_registration_physicians', 'physicians_e_registered', 'physicians', basis='month') }}
union all
{{ medcom_measure_rows('orgs', 'e_registration_nurses', 'nurses_e_registered', 'nurses', basis='month') }}
union all
{{ medcom_measure_rows('orgs', 'e_registration_facilities', 'fac_e_reg', '1', basis='month') }}
union all
{{ medcom_measure_rows('orgs', 'legal_dept_coverage', 'g2_legal', 'g2', basis='month') }}
union all
{{ medcom_measure_rows('orgs', 'quality_committee_coverage', 'g2_quality', 'g2', basis='month') }}
