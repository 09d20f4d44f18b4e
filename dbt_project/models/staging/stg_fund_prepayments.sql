-- 医保基金按月预付 (additive feed: rows add up, no identity): current rows only.
select
    community_id,
    cast(month as date)              as month,
    cast(amount as decimal(18, 2))   as amount,
    _batch_id,
    _row_number
from {{ source('raw', 'fund_prepayments') }}
where _superseded_by is null
