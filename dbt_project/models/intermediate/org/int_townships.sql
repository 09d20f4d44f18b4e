-- Townships of the city: parent is a county of the city and the first 6 digits are that county.
select
    r.region_code   as township_code,
    r.name          as township_name,
    k.county_code
from {{ ref('stg_regions') }} as r
inner join {{ ref('int_counties') }} as k
    on r.parent_code = k.county_code
   and {{ medcom_left('r.region_code', 6) }} = k.county_code
where r.level = 'township'
