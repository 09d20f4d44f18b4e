{#-
  Family D (综合监管) KPIs from complaints, penalties and supervision agencies
  (county, city = every county of the city plus the city's own rows):
    complaint_timely_closure  complaints due in the period (due_date in it) closed on or before
                              due_date / complaints due in the period     month, ytd
                              (county_code = the city code → counted at city level only)
    penalty_cases             count of penalties decided in the period, by the facility's county
    insurance_fraud_cases     as above, violation = insurance_fraud
    recovered_fund            Σ recovered_fund of those penalties (元)     month, ytd
                              (counts / amounts: numerator = value, denominator NULL)
    supervisor_professional_ratio  professional_staff / staff_total       year
                              (city = Σ over its counties' agencies + the city's own agency row)
-#}

with months as (
    select month, month_end, year from {{ ref('int_months') }}
),

windows as (
    select 'month' as period_type, month as period, month as start_date, month_end as end_date
    from months
    union all
    select 'ytd', month, {{ medcom_year_start('month') }}, month_end
    from months
),

years as (
    select year, min({{ medcom_year_start('month') }}) as period
    from months
    group by year
),

counties as (select county_code from {{ ref('int_counties') }}),
city as (select city_code from {{ ref('int_city') }}),

complaint_facts as (
    select 'complaint_timely_closure' as kpi_code, w.period_type, w.period, c.county_code,
           sum(case when c.closed_date is not null and c.closed_date <= c.due_date
                    then 1 else 0 end) as numerator,
           count(*) as denominator
    from {{ ref('stg_complaints') }} c
    join windows w on c.due_date >= w.start_date and c.due_date <= w.end_date
    group by w.period_type, w.period, c.county_code
),

penalties as (
    select p.decided_date, p.violation, p.recovered_fund, f.county_code
    from {{ ref('stg_penalties') }} p
    join {{ ref('stg_facilities') }} f on f.facility_id = p.facility_id
),

penalty_agg as (
    select w.period_type, w.period, p.county_code,
           count(*) as n_cases,
           sum(case when p.violation = 'insurance_fraud' then 1 else 0 end) as n_fraud,
           sum(p.recovered_fund) as recovered
    from penalties p
    join windows w on p.decided_date >= w.start_date and p.decided_date <= w.end_date
    group by w.period_type, w.period, p.county_code
),

agency_facts as (
    select 'supervisor_professional_ratio' as kpi_code, 'year' as period_type, y.period,
           a.county_code, a.professional_staff as numerator, a.staff_total as denominator
    from {{ ref('stg_supervision_agencies') }} a
    join years y on y.year = a.year
),

facts as (
    select * from complaint_facts
    union all
    select 'penalty_cases', period_type, period, county_code, n_cases, null from penalty_agg
    union all
    select 'insurance_fraud_cases', period_type, period, county_code, n_fraud, null from penalty_agg
    union all
    select 'recovered_fund', period_type, period, county_code, recovered, null from penalty_agg
    union all
    select * from agency_facts
),

grid as (
    select k.kpi_code, k.is_count, w.period_type, w.period
    from windows w
    cross join (
        select 'complaint_timely_closure' as kpi_code, 0 as is_count
        union all select 'penalty_cases', 1
        union all select 'insurance_fraud_cases', 1
        union all select 'recovered_fund', 1
    ) k
    union all
    select 'supervisor_professional_ratio', 0, 'year', period from years
),

county_rows as (
    select g.kpi_code, 'county' as org_level, c.county_code as org_id, g.period_type, g.period,
           coalesce(f.numerator, 0) as numerator,
           case when g.is_count = 1 then null else coalesce(f.denominator, 0) end as denominator
    from grid g
    cross join counties c
    left join facts f
      on f.kpi_code = g.kpi_code and f.period_type = g.period_type
     and f.period = g.period and f.county_code = c.county_code
),

-- the city's own rows (complaints / agency with county_code = the city code)
city_own as (
    select f.kpi_code, f.period_type, f.period, f.numerator, f.denominator
    from facts f
    join city ci on ci.city_code = f.county_code
),

city_rows as (
    select g.kpi_code, 'city' as org_level, ci.city_code as org_id, g.period_type, g.period,
           coalesce(cty.numerator, 0) + coalesce(own.numerator, 0) as numerator,
           case when g.is_count = 1 then null
                else coalesce(cty.denominator, 0) + coalesce(own.denominator, 0) end as denominator
    from grid g
    cross join city ci
    left join (
        select kpi_code, period_type, period, sum(numerator) as numerator,
               sum(denominator) as denominator
        from county_rows
        group by kpi_code, period_type, period
    ) cty on cty.kpi_code = g.kpi_code and cty.period_type = g.period_type and cty.period = g.period
    left join city_own own
      on own.kpi_code = g.kpi_code and own.period_type = g.period_type and own.period = g.period
),

all_rows as (
    select * from county_rows
    union all
    select * from city_rows
)

{{ medcom_kpi_shape('all_rows', count_if_no_denominator=true) }}
