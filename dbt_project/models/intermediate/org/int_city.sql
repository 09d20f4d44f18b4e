-- The city: the single regions row of level `city` (feeds.md "Codes").
select
    region_code     as city_code,
    name            as city_name
from {{ ref('stg_regions') }}
where level = 'city'
