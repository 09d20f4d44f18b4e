-- 医保基金按月预付: one row per loaded prepayment row (additive feed), with the community's county.
select
    p.community_id,
    c.county_code,
    p.month,
    cast(extract(year from p.month) as integer)  as year,
    p.amount,
    p._batch_id,
    p._row_number
from {{ ref('stg_fund_prepayments') }} p
left join {{ ref('stg_communities') }} c on c.community_id = p.community_id
