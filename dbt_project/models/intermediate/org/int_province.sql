-- The province (feeds.md "A province"): the regions row of level `province`, when the
-- warehouse holds several cities; no row for a single city.
select
    region_code     as province_code,
    name            as province_name
from {{ ref('stg_regions') }}
where level = 'province'
