-- 医疗卫生机构 (reference snapshot): current rows only; empty grade = none.
select
    facility_id,
    name,
    county_code,
    township_code,
    tier,
    coalesce(grade, 'none')         as grade,
    ownership,
    parent_facility_id,
    cast(opened_on as date)         as opened_on,
    cast(closed_on as date)         as closed_on,
    _batch_id
from {{ source('raw', 'facilities') }}
where _superseded_by is null
