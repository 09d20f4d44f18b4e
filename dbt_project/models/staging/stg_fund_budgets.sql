-- 医共体医保基金年度预算: current rows only, canonical columns (rename/cast only).
select
    community_id,
    cast(year as integer)                 as year,
    cast(insured_residents as bigint)     as insured_residents,
    cast(pooled_fund as decimal(18, 2))   as pooled_fund,
    cast(risk_reserve as decimal(18, 2))  as risk_reserve,
    cast(quality_reserve as decimal(18, 2)) as quality_reserve,
    cast(critical_illness as decimal(18, 2)) as critical_illness,
    cast(budget as decimal(18, 2))        as budget,
    _batch_id
from {{ source('raw', 'fund_budgets') }}
where _superseded_by is null
