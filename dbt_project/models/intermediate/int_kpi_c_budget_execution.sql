{#-
  fund_budget_execution 医保基金预算执行率 (family C, resident scheme only), kpis.md.
  community: Σ fund_paid of resident encounters whose insured township is in the community's
             catchment (as of the month end), wherever treated
             / budget of the year × months in the period / 12
             (month: 1; ytd: from January, or from the establishment month if later,
              through the period's month). No budget row for the year → denominator NULL,
             value NULL (no_data).
  county / city: Σ numerators / Σ denominators over the communities established by the
             month end that have a budget row for the year (others are left out of both).
  Rows: every community from its establishment month, every county of the city and the city
  for every month of int_months.
-#}

with months as (
    select month, month_end, year from {{ ref('int_months') }}
),

counties as (select county_code from {{ ref('int_counties') }}),
city as (select city_code from {{ ref('int_city') }}),

community_months as (
    select cm.month, m.year, cm.community_id, cm.county_code
    from {{ ref('int_communities_by_month') }} cm
    join months m on m.month = cm.month
),

by_catchment as (
    select month, catchment_community_id as community_id, sum(fund_paid) as spend
    from {{ ref('int_encounters_attributed') }}
    where scheme = 'resident' and catchment_community_id is not null
    group by month, catchment_community_id
),

budgets as (
    select community_id, year, budget from {{ ref('stg_fund_budgets') }}
),

communities as (
    select community_id, established_on from {{ ref('stg_communities') }}
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
    from community_months cm
    left join by_catchment s on s.month = cm.month and s.community_id = cm.community_id
    left join budgets b on b.community_id = cm.community_id and b.year = cm.year
    left join communities co on co.community_id = cm.community_id
),

community_exec as (
    select community_id, county_code, month, 'month' as period_type,
           spend as numerator,
           budget / 12.0 as denominator,
           budget
    from community_budget
    union all
    select community_id, county_code, month, 'ytd' as period_type,
           sum(spend) over (
               partition by community_id, year order by month
               rows between unbounded preceding and current row),
           budget * ytd_months / 12.0,
           budget
    from community_budget
),

county_exec as (
    select cm.county_code, cm.month, p.period_type,
           coalesce(sum(e.numerator), 0)   as numerator,
           coalesce(sum(e.denominator), 0) as denominator
    from (select cm0.month, cc.county_code from months cm0 cross join counties cc) cm
    cross join (select 'month' as period_type union all select 'ytd') p
    left join community_exec e
      on e.county_code = cm.county_code and e.month = cm.month
     and e.period_type = p.period_type and e.budget is not null
    group by cm.county_code, cm.month, p.period_type
),

city_exec as (
    select ci.city_code, m.month, p.period_type,
           coalesce(sum(e.numerator), 0)   as numerator,
           coalesce(sum(e.denominator), 0) as denominator
    from months m
    cross join city ci
    cross join (select 'month' as period_type union all select 'ytd') p
    left join community_exec e
      on e.month = m.month and e.period_type = p.period_type and e.budget is not null
    group by ci.city_code, m.month, p.period_type
),

exec_rows as (
    select 'fund_budget_execution' as kpi_code, 'community' as org_level, community_id as org_id,
           period_type, month as period, numerator, denominator
    from community_exec
    union all
    select 'fund_budget_execution', 'county', county_code, period_type, month, numerator, denominator
    from county_exec
    union all
    select 'fund_budget_execution', 'city', city_code, period_type, month, numerator, denominator
    from city_exec
)

{{ medcom_kpi_shape('exec_rows') }}
