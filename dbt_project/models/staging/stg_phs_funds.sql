-- 基本公卫补助拨付 (additive feed): current rows only.
select
    facility_id,
    cast(month as date)                 as month,
    cast(amount as decimal(18, 2))      as amount,
    _batch_id,
    _row_number
from {{ source('raw', 'phs_funds') }}
where _superseded_by is null
