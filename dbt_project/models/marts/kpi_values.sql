-- marts.kpi_values: every KPI row of families A–E with its direction, resolved target and status.
--
-- Target resolution (kpis.md "Targets"), for the row's KPI, year and period type:
--   candidates = default registry rows (seed default_targets) + `targets` feed rows whose years
--   contain the row's year, whose period_type is empty or equal, and whose scope matches:
--   (level, org) > (level, all orgs) > (all levels). Within the same specificity a feed row beats
--   a default row; then a period-type-specific row beats an all-periods row; then the later
--   year_from. The first candidate gives the target. Its band, when empty, is inherited from the
--   next candidate in that order that has a band, else 0.
-- Status, comparing values rounded to 9 decimals: no_data (value NULL) → insufficient (ratio with a
-- denominator below the KPI's min_denominator) → none (direction none or no target) → green / amber / red.
with kpis as (
    select * from {{ ref('int_kpi_union') }}
),

catalogue as (
    select kpi_code, direction, min_denominator
    from {{ ref('kpi_catalogue') }}
),

target_rows as (
    select kpi_code, org_level, org_id, period_type, year_from, year_to, target, band,
        0 as from_feed
    from {{ ref('default_targets') }}
    union all
    select kpi_code, org_level, org_id, period_type, year_from, year_to, target, band,
        1 as from_feed
    from {{ ref('stg_targets') }}
),

target_keys as (
    select distinct
        kpi_code, org_level, org_id, period_type, {{ medcom_year('period') }} as year
    from kpis
),

candidates as (
    select
        k.kpi_code, k.org_level, k.org_id, k.period_type, k.year,
        t.target,
        t.band,
        row_number() over (
            partition by k.kpi_code, k.org_level, k.org_id, k.period_type, k.year
            order by
                case when t.org_id is not null then 2 when t.org_level is not null then 1 else 0 end desc,
                t.from_feed desc,
                case when t.period_type is not null then 1 else 0 end desc,
                t.year_from desc
        ) as precedence
    from target_keys as k
    inner join target_rows as t
        on t.kpi_code = k.kpi_code
       and t.year_from <= k.year
       and (t.year_to is null or t.year_to >= k.year)
       and (t.period_type is null or t.period_type = k.period_type)
       and (t.org_level is null
            or (t.org_level = k.org_level and (t.org_id is null or t.org_id = k.org_id)))
),

inherited_band as (
    select kpi_code, org_level, org_id, period_type, year, band,
        row_number() over (
            partition by kpi_code, org_level, org_id, period_type, year
            order by precedence
        ) as band_rank
    from candidates
    where precedence > 1
      and band is not null
),

resolved as (
    select
        c.kpi_code, c.org_level, c.org_id, c.period_type, c.year,
        c.target,
        coalesce(c.band, b.band, 0) as band
    from candidates as c
    left join inherited_band as b
        on b.kpi_code = c.kpi_code
       and b.org_level = c.org_level
       and b.org_id = c.org_id
       and b.period_type = c.period_type
       and b.year = c.year
       and b.band_rank = 1
    where c.precedence = 1
),

joined as (
    select
        v.kpi_code,
        v.org_level,
        v.org_id,
        v.period_type,
        v.period,
        v.numerator,
        v.denominator,
        v.value,
        r.target,
        r.band,
        coalesce(c.direction, 'none')       as direction,
        c.min_denominator,
        {{ medcom_round('v.value', 9) }}                as value_r,
        {{ medcom_round('r.target', 9) }}               as target_r,
        {{ medcom_round('r.target - coalesce(r.band, 0)', 9) }} as lower_r,
        {{ medcom_round('r.target + coalesce(r.band, 0)', 9) }} as upper_r
    from kpis as v
    left join catalogue as c
        on c.kpi_code = v.kpi_code
    left join resolved as r
        on r.kpi_code = v.kpi_code
       and r.org_level = v.org_level
       and r.org_id = v.org_id
       and r.period_type = v.period_type
       and r.year = {{ medcom_year('v.period') }}
)

select
    kpi_code,
    org_level,
    org_id,
    period_type,
    period,
    numerator,
    denominator,
    value,
    target,
    direction,
    case
        when value is null then 'no_data'
        when denominator is not null and min_denominator is not null
             and denominator < min_denominator then 'insufficient'
        when direction = 'none' or target is null then 'none'
        when direction = '>=' then
            case when value_r >= target_r then 'green'
                 when value_r >= lower_r then 'amber'
                 else 'red' end
        when direction = '<=' then
            case when value_r <= target_r then 'green'
                 when value_r <= upper_r then 'amber'
                 else 'red' end
        else 'none'
    end as status,
    band
from joined
