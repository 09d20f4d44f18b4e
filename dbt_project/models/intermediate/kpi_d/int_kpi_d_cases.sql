{#-
  Family D (综合监管) KPIs from complaints, penalties and supervision agencies
  measures by county, and the city's own rows (complaints and agencies filed with a city's
  code) and the province's own rows (filed with the province's code); the city = every county of
  the city plus its own rows, the province = its cities plus its own rows (the engine's):
    complaint_timely_closure  complaints due in the period (due_date in it) closed on or before
                              due_date / complaints due in the period     month, ytd
                              (county_code = a city's code → counted at that city's level only;
                              the province's code → at province level only)
    penalty_cases             count of penalties decided in the period, by the facility's county
    insurance_fraud_cases     as above, violation = insurance_fraud
    recovered_fund            Σ recovered_fund of those penalties (元)     month, ytd
                              (counts / amounts: numerator = value, denominator NULL)
    supervisor_professional_ratio  professional_staff / staff_total       year
                              (city = Σ over its counties' agencies + the city's own agency row)
-#}

with years as (
    select year, min({{ medcom_year_start('month') }}) as period
    from {{ ref('int_months') }}
    group by year
),

-- the level of an org code: a city's code counts at city level only, the province's at province level
own_levels as (
    select city_code as code, 'city' as org_level from {{ ref('int_city') }}
    union all
    select province_code, 'province' from {{ ref('int_province') }}
),

complaints as (
    select coalesce(lv.org_level, 'county') as org_level,
           c.county_code as org_id,
           {{ medcom_month_start('c.due_date') }} as month,
           case when c.closed_date is not null and c.closed_date <= c.due_date then 1 else 0 end as on_time,
           1 as due
    from {{ ref('stg_complaints') }} as c
    left join own_levels as lv on lv.code = c.county_code
),

penalties as (
    select 'county' as org_level, f.county_code as org_id,
           {{ medcom_month_start('p.decided_date') }} as month,
           1 as n_cases,
           case when p.violation = 'insurance_fraud' then 1 else 0 end as n_fraud,
           p.recovered_fund
    from {{ ref('stg_penalties') }} as p
    inner join {{ ref('stg_facilities') }} as f on f.facility_id = p.facility_id
),

agencies as (
    select coalesce(lv.org_level, 'county') as org_level,
           a.county_code as org_id, y.period as month,
           a.professional_staff, a.staff_total
    from {{ ref('stg_supervision_agencies') }} as a
    inner join years as y on y.year = a.year
    left join own_levels as lv on lv.code = a.county_code
)

{{ medcom_measure_rows('complaints', 'complaint_timely_closure', 'on_time', 'due') }}
union all
{{ medcom_measure_rows('penalties', 'penalty_cases', 'n_cases') }}
union all
{{ medcom_measure_rows('penalties', 'insurance_fraud_cases', 'n_fraud') }}
union all
{{ medcom_measure_rows('penalties', 'recovered_fund', 'recovered_fund') }}
union all
{{ medcom_measure_rows('agencies', 'supervisor_professional_ratio', 'professional_staff', 'staff_total', basis='year') }}
