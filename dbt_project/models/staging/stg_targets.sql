-- 目标值 (reference snapshot, overrides of the default target registry): current rows only.
-- Empty org_level / org_id / period_type = all; empty year_to = open; empty band = inherit.
select
    kpi_code,
    org_level,
    org_id,
    period_type,
    cast(year_from as integer)          as year_from,
    cast(year_to as integer)            as year_to,
    {{ medcom_to_double('target') }}    as target,
    {{ medcom_to_double('band') }}      as band,
    policy_ref,
    _batch_id,
    _row_number
from {{ source('raw', 'targets') }}
where _superseded_by is null
