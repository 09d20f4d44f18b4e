{#-
  Insurance-fund page (医保基金): one row per community × month (from the month the community was
  established, months of int_months). Spend = resident-scheme fund_paid of encounters whose
  insured township is in the community's catchment (as fund_budget_execution's numerator).
  Budget pro-rating as fund_budget_execution: budget_month = budget / 12; budget_ytd = budget ×
  months_elapsed / 12 with months_elapsed counted from January, or from the establishment month
  if later. Projected year-end balance (结余 > 0 / 超支 < 0) = budget − spend_ytd × 12 / months_elapsed.
-#}

with exec_rows as (
    select org_id as community_id, basis as period_type, month, numerator, denominator
    from {{ ref('int_kpi_c_budget_execution') }}
    where org_level = 'community'
),

cm as (
    select cm.month, cm.community_id, cm.county_code, m.year
    from {{ ref('int_communities_by_month') }} cm
    join {{ ref('int_months') }} m on m.month = cm.month
),

prepay_month as (
    select community_id, month, sum(amount) as prepayment
    from {{ ref('stg_fund_prepayments') }}
    group by community_id, month
),

prepay_ytd as (
    select cm.community_id, cm.month, sum(p.prepayment) as prepayment_ytd
    from cm
    join prepay_month p
      on p.community_id = cm.community_id
     and p.month >= {{ medcom_year_start('cm.month') }}
     and p.month <= cm.month
    group by cm.community_id, cm.month
),

base as (
    select
        cm.community_id,
        co.name                                                     as community_name,
        cm.county_code,
        cm.month,
        cm.year,
        b.budget,
        -- kept bigint, the column's type (medcom_month_number is integer)
        cast({{ medcom_month_number('cm.month') }}
             - case when co.established_on >= {{ medcom_year_start('cm.month') }}
                    then {{ medcom_month_number('co.established_on') }} else 1 end
             + 1 as {{ dbt.type_bigint() }})                        as months_elapsed,
        mo.numerator                                                as spend,
        yt.numerator                                                as spend_ytd,
        mo.denominator                                              as budget_month,
        yt.denominator                                              as budget_ytd,
        coalesce(pm.prepayment, 0)                                  as prepayment,
        coalesce(py.prepayment_ytd, 0)                              as prepayment_ytd
    from cm
    left join {{ ref('stg_communities') }} co on co.community_id = cm.community_id
    left join {{ ref('stg_fund_budgets') }} b on b.community_id = cm.community_id and b.year = cm.year
    left join exec_rows mo
      on mo.community_id = cm.community_id and mo.month = cm.month and mo.period_type = 'month'
    left join exec_rows yt
      on yt.community_id = cm.community_id and yt.month = cm.month and yt.period_type = 'ytd'
    left join prepay_month pm on pm.community_id = cm.community_id and pm.month = cm.month
    left join prepay_ytd py on py.community_id = cm.community_id and py.month = cm.month
)

select
    community_id,
    community_name,
    county_code,
    month,
    year,
    {{ medcom_to_double('budget') }}                                as budget,
    months_elapsed,
    {{ medcom_to_double('spend') }}                                 as spend,
    {{ medcom_to_double('spend_ytd') }}                             as spend_ytd,
    {{ medcom_to_double('budget_month') }}                          as budget_month,
    {{ medcom_to_double('budget_ytd') }}                            as budget_ytd,
    {{ medcom_to_double('prepayment') }}                            as prepayment,
    {{ medcom_to_double('prepayment_ytd') }}                        as prepayment_ytd,
    {{ medcom_ratio('spend_ytd', 'budget_ytd') }}                   as execution_rate_ytd,
    {{ medcom_to_double('spend_ytd') }} * 12 / months_elapsed       as projected_spend_year,
    {{ medcom_to_double('budget') }}
      - {{ medcom_to_double('spend_ytd') }} * 12 / months_elapsed   as projected_balance,
    case
        when budget is null then null
        when {{ medcom_to_double('budget') }}
               - {{ medcom_to_double('spend_ytd') }} * 12 / months_elapsed >= 0 then 'surplus'
        else 'overspend'
    end                                                             as projected_status
from base
