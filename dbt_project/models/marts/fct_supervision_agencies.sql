-- 卫生监督机构人员: one row per agency (county, a city's own agency, or the province's) × year.
select
    a.county_code,
    ci.city_code is not null                                    as is_city_agency,
    pr.province_code is not null                                as is_province_agency,
    coalesce(k.county_name, ci.city_name, pr.province_name)    as region_name,
    a.year,
    a.staff_total,
    a.professional_staff,
    {{ medcom_ratio('a.professional_staff', 'a.staff_total') }}    as professional_ratio,
    a._batch_id
from {{ ref('stg_supervision_agencies') }} a
left join {{ ref('int_city') }} ci on ci.city_code = a.county_code
left join {{ ref('int_province') }} pr on pr.province_code = a.county_code
left join {{ ref('int_counties') }} k on k.county_code = a.county_code
