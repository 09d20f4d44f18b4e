-- 监督检查: current rows only. published / full_record are false when not given (ingest default).
select
    inspection_id,
    facility_id,
    kind,
    cast(planned_month as date)      as planned_month,
    cast(completed_date as date)     as completed_date,
    result,
    coalesce(published, false)       as published,
    coalesce(full_record, false)     as full_record,
    _batch_id
from {{ source('raw', 'inspections') }}
where _superseded_by is null
