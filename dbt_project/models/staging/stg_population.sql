-- 人口: current rows only.
select
    township_code,
    cast(year as integer)                   as year,
    cast(residents as bigint)               as residents,
    cast(insured_residents as bigint)       as insured_residents,
    _batch_id
from {{ source('raw', 'population') }}
where _superseded_by is null
