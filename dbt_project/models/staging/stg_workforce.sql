-- 机构执业登记月报: current rows only.
select
    facility_id,
    cast(month as date)                         as month,
    cast(physicians as bigint)                  as physicians,
    cast(physicians_e_registered as bigint)     as physicians_e_registered,
    cast(nurses as bigint)                      as nurses,
    cast(nurses_e_registered as bigint)         as nurses_e_registered,
    facility_e_registered,
    legal_dept,
    quality_committee,
    _batch_id
from {{ source('raw', 'workforce') }}
where _superseded_by is null
