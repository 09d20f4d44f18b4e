-- 基本公卫服务工分当量: current rows only.
select
    service_code,
    cast(year as integer)               as year,
    {{ medcom_to_double('weight') }}    as weight,
    _batch_id
from {{ source('raw', 'phs_weights') }}
where _superseded_by is null
