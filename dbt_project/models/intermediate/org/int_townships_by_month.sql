-- One row per township of the city × month, with its catchment community on the month's last day.
with catchment_on_month_end as (
    select m.month, c.township_code, c.community_id
    from {{ ref('int_months') }} as m
    inner join {{ ref('stg_catchments') }} as c
        on {{ medcom_valid_on('c', 'm.month_end') }}
)

select
    m.month,
    t.township_code,
    t.county_code,
    c.community_id
from {{ ref('int_months') }} as m
cross join {{ ref('int_townships') }} as t
left join catchment_on_month_end as c
    on c.township_code = t.township_code
   and c.month = m.month
