-- marts.dim_org: every org of the warehouse — the province (when there is one), its cities (or the
-- city), counties, communities, townships, registry facilities.
-- Current attributes: memberships and catchments valid on the build's as-of date (var as_of_date;
-- facility: own membership, else the parent facility's). Parents: city → province (when there is
-- one); county → city; community and township → county; facility → its current community when it
-- has one, else its county.
with today_date as (
    select {{ medcom_as_of_date() }} as d
),

memberships_now as (
    select m.facility_id, m.community_id
    from {{ ref('stg_memberships') }} as m
    cross join today_date as t
    where {{ medcom_valid_on('m', 't.d') }}
),

catchments_now as (
    select c.township_code, c.community_id
    from {{ ref('stg_catchments') }} as c
    cross join today_date as t
    where {{ medcom_valid_on('c', 't.d') }}
),

facilities as (
    select
        f.facility_id,
        f.name,
        f.county_code,
        coalesce(f.township_code, p.township_code)        as township_code,
        f.tier,
        f.grade,
        f.ownership,
        coalesce(own.community_id, par.community_id)      as community_id
    from {{ ref('stg_facilities') }} as f
    left join {{ ref('stg_facilities') }} as p on p.facility_id = f.parent_facility_id
    left join memberships_now as own on own.facility_id = f.facility_id
    left join memberships_now as par on par.facility_id = f.parent_facility_id
)

select
    'province' as org_level, province_code as org_id, province_name as name,
    cast(null as {{ dbt.type_string() }}) as parent_level, cast(null as {{ dbt.type_string() }}) as parent_id,
    cast(null as {{ dbt.type_string() }}) as tier, cast(null as {{ dbt.type_string() }}) as grade,
    cast(null as {{ dbt.type_string() }}) as ownership,
    cast(null as {{ dbt.type_string() }}) as county_code, cast(null as {{ dbt.type_string() }}) as township_code,
    cast(null as {{ dbt.type_string() }}) as community_id,
    cast(null as date) as established_on
from {{ ref('int_province') }}

union all

select
    'city', city_code, city_name,
    case when province_code is not null then 'province' end, province_code,
    null, null, null,
    null, null, null,
    null
from {{ ref('int_city') }}

union all

select
    'county', county_code, county_name,
    'city', city_code,
    null, null, null,
    county_code, null, null,
    null
from {{ ref('int_counties') }}

union all

select
    'community', c.community_id, c.name,
    'county', c.county_code,
    null, null, null,
    c.county_code, null, c.community_id,
    c.established_on
from {{ ref('stg_communities') }} as c

union all

select
    'township', t.township_code, t.township_name,
    'county', t.county_code,
    null, null, null,
    t.county_code, t.township_code, cn.community_id,
    null
from {{ ref('int_townships') }} as t
left join catchments_now as cn on cn.township_code = t.township_code

union all

select
    'facility', f.facility_id, f.name,
    case when f.community_id is not null then 'community' else 'county' end,
    coalesce(f.community_id, f.county_code),
    f.tier, f.grade, f.ownership,
    f.county_code, f.township_code, f.community_id,
    null
from facilities as f
