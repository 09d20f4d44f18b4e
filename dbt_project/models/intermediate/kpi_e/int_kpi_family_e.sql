-- Family E 健康许昌: values as reported for the region and year. Level province, city or county by
-- the region code; period_type year, period = 1 January; numerator and denominator NULL.
-- (The province's row is what was reported for the province's own code, never derived.)
select
    r.indicator_code                                        as kpi_code,
    case when p.province_code is not null then 'province'
         when c.city_code is not null then 'city' else 'county' end as org_level,
    r.region_code                                           as org_id,
    'year'                                                  as period_type,
    {{ medcom_year_start_of_year('r.year') }}               as period,
    cast(null as {{ medcom_double() }})                     as numerator,
    cast(null as {{ medcom_double() }})                     as denominator,
    {{ medcom_to_double('r.value') }}                       as value
from {{ ref('stg_reported_indicators') }} as r
inner join {{ ref('kpi_catalogue') }} as k
    on k.kpi_code = r.indicator_code
   and k.family = 'E'
left join {{ ref('int_city') }} as c
    on c.city_code = r.region_code
left join {{ ref('int_counties') }} as n
    on n.county_code = r.region_code
left join {{ ref('int_province') }} as p
    on p.province_code = r.region_code
where c.city_code is not null
   or n.county_code is not null
   or p.province_code is not null
