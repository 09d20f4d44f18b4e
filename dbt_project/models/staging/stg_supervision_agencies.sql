-- 卫生监督机构人员: current rows only. county_code is a county of the city or the city's own agency.
select
    county_code,
    cast(year as integer)               as year,
    cast(staff_total as bigint)         as staff_total,
    cast(professional_staff as bigint)  as professional_staff,
    _batch_id
from {{ source('raw', 'supervision_agencies') }}
where _superseded_by is null
