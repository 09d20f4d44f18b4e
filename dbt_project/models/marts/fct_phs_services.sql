-- marts.fct_phs_services: current public-health service rows with the weight applied and the
-- facility's registry attributes (community as of the month's last day).
select
    s.facility_id,
    s.month,
    s.service_code,
    s.units,
    coalesce(w.weight, 1.0)                         as weight,
    s.units * coalesce(w.weight, 1.0)               as weighted_units,
    f.county_code,
    f.township_code,
    f.tier,
    f.community_id,
    s._batch_id,
    s._row_number
from {{ ref('stg_phs_services') }} as s
left join {{ ref('stg_phs_weights') }} as w
    on w.service_code = s.service_code
   and w.year = {{ medcom_year('s.month') }}
left join {{ ref('int_facilities_by_month') }} as f
    on f.facility_id = s.facility_id
   and f.month = s.month
