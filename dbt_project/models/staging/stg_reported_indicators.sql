-- 健康许昌 reported results: current rows only.
select
    region_code,
    cast(year as integer)               as year,
    indicator_code,
    {{ medcom_to_double('value') }}     as value,
    _batch_id
from {{ source('raw', 'reported_indicators') }}
where _superseded_by is null
