-- 医共体 (reference snapshot): current rows only.
select
    community_id,
    name,
    county_code,
    lead_facility_id,
    cast(established_on as date)    as established_on,
    _batch_id
from {{ source('raw', 'communities') }}
where _superseded_by is null
