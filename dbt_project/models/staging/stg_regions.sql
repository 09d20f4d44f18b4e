-- 行政区划 (reference snapshot): current rows only.
select
    region_code,
    name,
    level,
    parent_code,
    _batch_id
from {{ source('raw', 'regions') }}
where _superseded_by is null
