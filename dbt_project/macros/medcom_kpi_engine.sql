{#-
  The KPI engine (kpis.md "Levels", "Periods"): one pair of macros every monthly KPI family uses.
  A family only defines its *measures*: one long relation

      kpi_code, org_level, org_id, month, basis, numerator, denominator

  at the levels it attributes directly (facility, township, community, county, and — for
  family D — the city's own rows, e.g. complaints filed against the city). Rows may repeat a
  key: the engine sums them. `basis` says how a measure row turns into period rows:

      flow   the month's amount: the month row, and summed from January into the YTD row
      month  the month row only (stocks, e.g. facilities open at the month end)
      ytd    the YTD row as is (a YTD that is not a sum of the months, e.g. a budget
             pro-rated from January, or inspections planned Jan..M and done by M's end)
      year   the year row (month = 1 January)

  1. medcom_kpi_monthly(measures, kpis, counts, city_counties) — the org × month spine,
     zero-fill and roll-up; a model of its own (int_kpi_<family>_monthly).
  2. medcom_kpi_periods(monthly) — month / ytd / year rows with value = Σ num / Σ den
     (int_kpi_family_<family>).
-#}


{#-
  medcom_measure_rows(relation, kpi_code, numerator, denominator=none, basis='flow')
  One KPI's measure rows from a wide relation with org_level, org_id, month.
  denominator none → NULL (a count or an amount).
-#}
{% macro medcom_measure_rows(relation, kpi_code, numerator, denominator=none, basis='flow') -%}
select
    '{{ kpi_code }}' as kpi_code, org_level, org_id, month, '{{ basis }}' as basis,
    {{ numerator }} as numerator,
    {% if denominator is none %}cast(null as {{ medcom_double() }}){% else %}{{ denominator }}{% endif %} as denominator
from {{ relation }}
{%- endmacro %}


{#-
  medcom_kpi_monthly(measures, kpis, counts=[], city_counties='plan')

  measures       a list of relations (unioned) in the measure shape above.
  kpis           {kpi_code: 'flow' | 'month' | 'month ytd' | 'year'} — the bases of each KPI.
  counts         KPI codes without a denominator (counts and amounts): value = numerator.
  city_counties  'plan': the city row of a month sums the county rows of that month's plan
                 counties (int_plan_counties_by_month; families A–C);
                 'all': every county of the city plus the city's own measure rows (family D).

  Spine (one row per KPI × org × month × basis, for the levels of the KPI's catalogue
  `levels`): county — every county of the city every month; community — from its
  establishment month (int_communities_by_month); township — int_townships_by_month;
  city — every month; `year` rows — 1 January of each year of int_months. Facility rows are
  the family's own (no spine: the family decides which facilities a month lists).
  Zero-fill: an org-month without measure rows gets numerator 0 and denominator 0 (NULL for
  counts); a present row keeps its sums (a NULL denominator stays NULL, e.g. no budget).
  Roll-up: ratio of sums — numerators and denominators are summed, never the ratios.

  Output: kpi_code, org_level, org_id, month, basis, numerator, denominator, is_count.

  The province (when the warehouse holds one, int_province): one more medcom_kpi_roll_up step over
  `city_rows` with the city → province mapping (int_city.province_code), plus the province's own
  measure rows; its spine rows exist for every KPI whose catalogue levels include `city`.
-#}
{% macro medcom_kpi_monthly(measures, kpis, counts=[], city_counties='plan') -%}
with measure_rows as (
    {% for r in measures -%}
    select kpi_code, org_level, org_id, month, basis, numerator, denominator from {{ r }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
),

measures as (
    select kpi_code, org_level, org_id, month, basis,
           sum(numerator) as numerator, sum(denominator) as denominator
    from measure_rows
    group by kpi_code, org_level, org_id, month, basis
),

kpi_bases as (
    {% for code, spec in kpis.items() -%}
    {% set outer_last = loop.last -%}
    {% for b in spec.split() -%}
    select '{{ code }}' as kpi_code, '{{ b }}' as basis, {{ 1 if code in counts else 0 }} as is_count
    {% if not (outer_last and loop.last) %}union all
    {% endif %}
    {%- endfor %}
    {%- endfor %}
),

kpi_levels as (
    select b.kpi_code, b.basis, b.is_count, {{ dbt.concat(["' '", 'c.levels', "' '"]) }} as levels
    from kpi_bases as b
    inner join {{ ref('kpi_catalogue') }} as c on c.kpi_code = b.kpi_code
),

periods as (
    select m.month, b.basis
    from {{ ref('int_months') }} as m
    cross join (select 'flow' as basis union all select 'month' union all select 'ytd') as b
    union all
    select distinct {{ medcom_year_start('month') }} as month, 'year' as basis
    from {{ ref('int_months') }}
),

org_months as (
    select 'county' as org_level, k.county_code as org_id, p.month, p.basis
    from periods as p
    cross join {{ ref('int_counties') }} as k
    union all
    select 'community' as org_level, c.community_id as org_id, p.month, p.basis
    from {{ ref('int_communities_by_month') }} as c
    inner join periods as p on p.month = c.month and p.basis <> 'year'
    union all
    select 'township' as org_level, t.township_code as org_id, p.month, p.basis
    from {{ ref('int_townships_by_month') }} as t
    inner join periods as p on p.month = t.month and p.basis <> 'year'
    union all
    select 'city' as org_level, ci.city_code as org_id, p.month, p.basis
    from periods as p
    cross join {{ ref('int_city') }} as ci
    union all
    select 'province' as org_level, pr.province_code as org_id, p.month, p.basis
    from periods as p
    cross join {{ ref('int_province') }} as pr
),

spine as (
    select l.kpi_code, l.is_count, o.org_level, o.org_id, o.month, o.basis
    from kpi_levels as l
    inner join org_months as o
        on o.basis = l.basis
       -- every KPI with city rows has province rows (kpis.md "Province level")
       and l.levels like {{ dbt.concat(["'% '", "case when o.org_level = 'province' then 'city' else o.org_level end", "' %'"]) }}
),

-- the directly attributed levels, zero-filled on the spine
direct_rows as (
    select s.kpi_code, s.org_level, s.org_id, s.month, s.basis,
           coalesce(m.numerator, 0) as numerator,
           case when m.kpi_code is not null then m.denominator
                when s.is_count = 1 then null
                else 0 end as denominator,
           s.is_count
    from spine as s
    left join measures as m
        on m.kpi_code = s.kpi_code and m.org_level = s.org_level and m.org_id = s.org_id
       and m.month = s.month and m.basis = s.basis
    where s.org_level not in ('city', 'province')
),

facility_rows as (
    select m.kpi_code, m.org_level, m.org_id, m.month, m.basis, m.numerator, m.denominator, b.is_count
    from measures as m
    inner join kpi_bases as b on b.kpi_code = m.kpi_code and b.basis = m.basis
    where m.org_level = 'facility'
),

county_to_city as (
    {% if city_counties == 'plan' -%}
    select p.month, p.county_code as child_id, p.city_code as parent_id
    from {{ ref('int_plan_counties_by_month') }} as p
    {%- elif city_counties == 'all' -%}
    select k.county_code as child_id, k.city_code as parent_id
    from {{ ref('int_counties') }} as k
    {%- else -%}
    {{ exceptions.raise_compiler_error("medcom_kpi_monthly: city_counties must be 'plan' or 'all', not " ~ city_counties) }}
    {%- endif %}
),

city_rows as (
    {{ medcom_kpi_roll_up('direct_rows', 'spine', 'county', 'city', 'county_to_city',
                          by_month=(city_counties == 'plan'), own_rows='measures') }}
),

city_to_province as (
    select city_code as child_id, province_code as parent_id
    from {{ ref('int_city') }}
    where province_code is not null
),

-- the province (when there is one) = Σ of its cities' rows of the same month and basis (each city
-- row already covers that month's plan counties, or every county plus the city's own rows), plus
-- the province's own rows (family D: complaints and agencies filed with the province's code)
province_rows as (
    {{ medcom_kpi_roll_up('city_rows', 'spine', 'city', 'province', 'city_to_province',
                          by_month=false, own_rows='measures') }}
)

select * from direct_rows
union all
select * from facility_rows
union all
select * from city_rows
union all
select * from province_rows
{%- endmacro %}


{#-
  medcom_kpi_roll_up(child_rows, spine, child_level, parent_level, mapping, by_month=true, own_rows=none)
  Parent-level rows (one per spine row of parent_level): Σ numerator and Σ denominator of the
  child_level rows mapped to the parent (mapping: child_id, parent_id, and month when
  by_month), plus the parent's own rows in own_rows (same key), zero-filled like the spine
  (denominator NULL for counts). Columns as medcom_kpi_monthly's output.
-#}
{% macro medcom_kpi_roll_up(child_rows, spine, child_level, parent_level, mapping, by_month=true, own_rows=none) -%}
select s.kpi_code, s.org_level, s.org_id, s.month, s.basis,
       coalesce(c.numerator, 0) {% if own_rows %}+ coalesce(o.numerator, 0){% endif %} as numerator,
       case when s.is_count = 1 then null
            else coalesce(c.denominator, 0) {% if own_rows %}+ coalesce(o.denominator, 0){% endif %} end as denominator,
       s.is_count
from {{ spine }} as s
left join (
    select r.kpi_code, mp.parent_id, r.month, r.basis,
           sum(r.numerator) as numerator, sum(r.denominator) as denominator
    from {{ child_rows }} as r
    inner join {{ mapping }} as mp
        on mp.child_id = r.org_id{% if by_month %} and mp.month = r.month{% endif %}
    where r.org_level = '{{ child_level }}'
    group by r.kpi_code, mp.parent_id, r.month, r.basis
) as c
    on c.kpi_code = s.kpi_code and c.parent_id = s.org_id and c.month = s.month and c.basis = s.basis
{% if own_rows -%}
left join {{ own_rows }} as o
    on o.kpi_code = s.kpi_code and o.org_level = '{{ parent_level }}' and o.org_id = s.org_id
   and o.month = s.month and o.basis = s.basis
{%- endif %}
where s.org_level = '{{ parent_level }}'
{%- endmacro %}


{#-
  medcom_kpi_periods(monthly)
  The family's KPI rows from its medcom_kpi_monthly relation: month rows (bases flow, month),
  ytd rows (flow: Σ of the months of the year up to the month — each month's rolled-up
  sums, so a city YTD follows each month's plan counties; ytd: as given), year rows.
  numerator / denominator as DOUBLE; value = numerator / denominator (NULL when the
  denominator is 0 or NULL), or the numerator for counts.
-#}
{% macro medcom_kpi_periods(monthly) -%}
select
    kpi_code,
    org_level,
    org_id,
    period_type,
    period,
    {{ medcom_to_double('numerator') }}   as numerator,
    {{ medcom_to_double('denominator') }} as denominator,
    case when is_count = 1 then {{ medcom_to_double('numerator') }}
         else {{ medcom_ratio('numerator', 'denominator') }} end as value
from (
    select kpi_code, org_level, org_id, 'month' as period_type, month as period,
           numerator, denominator, is_count
    from {{ monthly }}
    where basis in ('flow', 'month')
    union all
    select kpi_code, org_level, org_id, 'ytd' as period_type, month as period,
           sum(numerator) over (
               partition by kpi_code, org_level, org_id, {{ medcom_year('month') }}
               order by month rows between unbounded preceding and current row),
           sum(denominator) over (
               partition by kpi_code, org_level, org_id, {{ medcom_year('month') }}
               order by month rows between unbounded preceding and current row),
           is_count
    from {{ monthly }}
    where basis = 'flow'
    union all
    select kpi_code, org_level, org_id, period_type, month as period,
           numerator, denominator, is_count
    from (select m.*, basis as period_type from {{ monthly }} as m) as given
    where basis in ('ytd', 'year')
) as period_rows
{%- endmacro %}
