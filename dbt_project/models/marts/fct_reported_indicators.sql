-- marts.fct_reported_indicators: current 健康许昌 reported values with the region's level.
select
    r.region_code,
    case when p.province_code is not null then 'province'
         when c.city_code is not null then 'city'
         when k.county_code is not null then 'county' end   as org_level,
    r.year,
    r.indicator_code,
    r.value,
    r._batch_id
from {{ ref('stg_reported_indicators') }} as r
left join {{ ref('int_city') }} as c on c.city_code = r.region_code
left join {{ ref('int_counties') }} as k on k.county_code = r.region_code
left join {{ ref('int_province') }} as p on p.province_code = r.region_code
