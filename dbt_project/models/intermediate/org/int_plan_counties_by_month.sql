-- Plan counties of each month: counties of the city (of each city of a province) with at least
-- one community established on or before the month's last day, with their city.
select distinct
    c.month,
    c.county_code,
    k.city_code
from {{ ref('int_communities_by_month') }} as c
inner join {{ ref('int_counties') }} as k
    on k.county_code = c.county_code
