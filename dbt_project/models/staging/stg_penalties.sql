-- 行政处罚: current rows only. fine / recovered_fund are 0 when not given (ingest default).
select
    case_id,
    facility_id,
    cast(decided_date as date)                          as decided_date,
    violation,
    cast(coalesce(fine, 0) as decimal(18, 2))           as fine,
    cast(coalesce(recovered_fund, 0) as decimal(18, 2)) as recovered_fund,
    _batch_id
from {{ source('raw', 'penalties') }}
where _superseded_by is null
