-- 监督检查: one row per current inspection, with the inspected facility's attributes
-- (county, township, tier, ownership; community membership as of the planned month's end).
with f as (
    select facility_id, month, county_code, township_code, tier, ownership, community_id
    from {{ ref('int_facilities_by_month') }}
)

select
    i.inspection_id,
    i.facility_id,
    coalesce(f.county_code, s.county_code)                      as county_code,
    f.township_code,
    f.community_id,
    s.tier                                                      as facility_tier,
    s.ownership                                                 as facility_ownership,
    i.kind,
    i.planned_month,
    cast(extract(year from i.planned_month) as integer)        as planned_year,
    i.completed_date,
    {{ medcom_month_start('i.completed_date') }}                as completed_month,
    i.completed_date is not null                                as is_completed,
    coalesce(i.completed_date <= {{ dbt.last_day('i.planned_month', 'month') }}, false)
                                                                as is_completed_in_planned_month,
    i.result,
    coalesce(i.result = 'violation', false)                     as is_violation,
    i.published,
    i.full_record,
    i._batch_id
from {{ ref('stg_inspections') }} i
left join {{ ref('stg_facilities') }} s on s.facility_id = i.facility_id
left join f on f.facility_id = i.facility_id and f.month = i.planned_month
