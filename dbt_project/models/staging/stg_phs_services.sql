-- 基本公共卫生服务量 (additive feed: rows add up, no identity): current rows only.
select
    facility_id,
    cast(month as date)         as month,
    service_code,
    cast(units as bigint)       as units,
    _batch_id,
    _row_number
from {{ source('raw', 'phs_services') }}
where _superseded_by is null
