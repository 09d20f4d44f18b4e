-- 机构执业登记月报: one row per facility × month, with the facility's attributes and community
-- membership as of the month's end and the facility's own e-registration rates.
select
    w.facility_id,
    w.month,
    cast(extract(year from w.month) as integer)                 as year,
    coalesce(f.county_code, s.county_code)                      as county_code,
    f.township_code,
    f.community_id,
    s.tier                                                      as facility_tier,
    s.grade                                                     as facility_grade,
    coalesce(f.is_grade2_plus, {{ medcom_is_grade2_plus('s.grade') }}) as is_grade2_plus,
    w.physicians,
    w.physicians_e_registered,
    w.nurses,
    w.nurses_e_registered,
    w.facility_e_registered,
    w.legal_dept,
    w.quality_committee,
    {{ medcom_ratio('w.physicians_e_registered', 'w.physicians') }} as physicians_e_registered_rate,
    {{ medcom_ratio('w.nurses_e_registered', 'w.nurses') }}         as nurses_e_registered_rate,
    w._batch_id
from {{ ref('stg_workforce') }} w
left join {{ ref('stg_facilities') }} s on s.facility_id = w.facility_id
left join {{ ref('int_facilities_by_month') }} f on f.facility_id = w.facility_id and f.month = w.month
