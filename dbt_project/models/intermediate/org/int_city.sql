-- The city, or every city of the province (feeds.md "Codes"): the regions rows of level `city`,
-- each with its province (NULL without one).
select
    r.region_code     as city_code,
    r.name            as city_name,
    p.province_code
from {{ ref('stg_regions') }} as r
left join {{ ref('int_province') }} as p
    on p.province_code = r.parent_code
where r.level = 'city'
