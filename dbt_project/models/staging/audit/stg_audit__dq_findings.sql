-- Failed batch-level expectations per batch and county-month (expectations/batch.py).
select
    batch_id,
    feed,
    expectation,
    county,
    period,
    grp,
    message,
    message_zh
from {{ source('audit', 'dq_findings') }}
