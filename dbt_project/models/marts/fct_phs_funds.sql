-- marts.fct_phs_funds: current public-health subsidy rows with the facility's registry attributes.
select
    s.facility_id,
    s.month,
    s.amount,
    f.county_code,
    f.township_code,
    f.tier,
    f.community_id,
    s._batch_id,
    s._row_number
from {{ ref('stg_phs_funds') }} as s
left join {{ ref('int_facilities_by_month') }} as f
    on f.facility_id = s.facility_id
   and f.month = s.month
