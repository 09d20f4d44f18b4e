-- 投诉举报: current rows only. county_code is a county of the city or the city itself.
select
    complaint_id,
    county_code,
    facility_id,
    cast(received_date as date)  as received_date,
    cast(due_date as date)       as due_date,
    cast(closed_date as date)    as closed_date,
    _batch_id
from {{ source('raw', 'complaints') }}
where _superseded_by is null
