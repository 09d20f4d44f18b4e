-- 卫生监督机构人员: one row per agency (county, or the city's own agency) × year.
select
    a.county_code,
    a.county_code = ci.city_code                                as is_city_agency,
    coalesce(k.county_name, ci.city_name)                      as region_name,
    a.year,
    a.staff_total,
    a.professional_staff,
    {{ medcom_ratio('a.professional_staff', 'a.staff_total') }}    as professional_ratio,
    a._batch_id
from {{ ref('stg_supervision_agencies') }} a
cross join {{ ref('int_city') }} ci
left join {{ ref('int_counties') }} k on k.county_code = a.county_code
