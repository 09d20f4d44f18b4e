-- Counties of the city (or of each city of the province): parent is the city and the code shares
-- the city's first 4 digits.
select
    r.region_code   as county_code,
    r.name          as county_name,
    c.city_code
from {{ ref('stg_regions') }} as r
inner join {{ ref('int_city') }} as c
    on r.parent_code = c.city_code
   and {{ medcom_left('r.region_code', 4) }} = {{ medcom_left('c.city_code', 4) }}
where r.level = 'county'
