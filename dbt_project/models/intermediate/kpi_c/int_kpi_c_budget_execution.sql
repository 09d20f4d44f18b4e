{#-
  fund_budget_execution 医保基金预算执行率 (family C, resident scheme only), kpis.md:
  measures per community and county, bases `month` and `ytd` (the pro-rated budget of a YTD
  is not a sum of the months the data covers).
  community: Σ fund_paid of resident encounters whose insured township is in the community's
             catchment (as of the month end), wherever treated
             / budget of the year × months in the period / 12
             (month: 1; ytd: from January, or from the establishment month if later,
              through the period's month). No budget row for the year → denominator NULL,
             value NULL (no_data).
  county:    Σ numerators / Σ denominators over the communities established by the month end
             that have a budget row for the year (others are left out of both).
  The city (Σ over the plan counties = every community with a budget), zero-fill and the
  period rows are the engine's.
-#}

with community_months as (
    select cm.month, m.year, cm.community_id, cm.county_code
    from {{ ref('int_communities_by_month') }} as cm
    inner join {{ ref('int_months') }} as m on m.month = cm.month
),

by_catchment as (
    select month, catchment_community_id as community_id, sum(fund_paid) as spend
    from {{ ref('int_encounters_attributed') }}
    where scheme = 'resident' and catchment_community_id is not null
    group by month, catchment_community_id
),

community_budget as (
    select cm.month, cm.year, cm.community_id, cm.county_code,
           coalesce(s.spend, 0) as spend,
           b.budget,
           -- months in the ytd period: from January, or from the establishment month if later
           {{ medcom_month_number('cm.month') }}
             - case when co.established_on >= {{ medcom_year_start('cm.month') }}
                    then {{ medcom_month_number('co.established_on') }} else 1 end
             + 1 as ytd_months
    from community_months as cm
    left join by_catchment as s on s.month = cm.month and s.community_id = cm.community_id
    left join {{ ref('stg_fund_budgets') }} as b on b.community_id = cm.community_id and b.year = cm.year
    left join {{ ref('stg_communities') }} as co on co.community_id = cm.community_id
),

community_exec as (
    select community_id, county_code, month, 'month' as basis,
           spend as numerator,
           {{ medcom_to_double('budget') }} / 12.0 as denominator,
           budget
    from community_budget
    union all
    select community_id, county_code, month, 'ytd' as basis,
           sum(spend) over (
               partition by community_id, year order by month
               rows between unbounded preceding and current row),
           {{ medcom_to_double('budget * ytd_months') }} / 12.0,
           budget
    from community_budget
)

select 'fund_budget_execution' as kpi_code, 'community' as org_level, community_id as org_id,
       month, basis, numerator, denominator
from community_exec
union all
select 'fund_budget_execution' as kpi_code, 'county' as org_level, county_code as org_id,
       month, basis, numerator, denominator
from community_exec
where budget is not null
