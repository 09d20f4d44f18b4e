-- 医共体医保基金年度预算, one row per community × year, with the community's county and the
-- monthly pro-rated budget.
select
    b.community_id,
    c.name                                          as community_name,
    c.county_code,
    b.year,
    b.insured_residents,
    b.pooled_fund,
    b.risk_reserve,
    b.quality_reserve,
    b.critical_illness,
    b.budget,
    {{ medcom_to_double('b.budget') }} / 12        as budget_per_month,
    {{ medcom_to_double('b.budget') }} / nullif(b.insured_residents, 0) as budget_per_insured,
    cast(b.pooled_fund - b.risk_reserve - b.quality_reserve - b.critical_illness - b.budget
         as decimal(18, 2))                         as budget_formula_gap,
    b._batch_id
from {{ ref('stg_fund_budgets') }} b
left join {{ ref('stg_communities') }} c on c.community_id = b.community_id
