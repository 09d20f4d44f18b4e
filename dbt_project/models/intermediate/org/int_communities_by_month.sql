-- One row per community × month from the month it was established (established_on ≤ month end).
select
    m.month,
    c.community_id,
    c.county_code
from {{ ref('int_months') }} as m
inner join {{ ref('stg_communities') }} as c
    on c.established_on <= m.month_end
