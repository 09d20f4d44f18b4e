-- 医共体覆盖乡镇 (reference snapshot): current rows only; both bounds inclusive, empty valid_to = open.
select
    township_code,
    community_id,
    cast(valid_from as date)        as valid_from,
    cast(valid_to as date)          as valid_to,
    _batch_id
from {{ source('raw', 'catchments') }}
where _superseded_by is null
