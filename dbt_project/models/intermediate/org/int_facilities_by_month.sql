-- One row per registry facility × month (int_months). Registry attributes are the current
-- snapshot (they apply to all periods). township_code: own, else the parent facility's.
-- community_id: the facility's membership valid on the month's last day, else the parent
-- facility's membership on that day.
with facilities as (
    select
        f.facility_id,
        f.county_code,
        coalesce(f.township_code, p.township_code)                          as township_code,
        f.tier,
        f.grade,
        f.ownership,
        f.parent_facility_id,
        f.opened_on,
        f.closed_on
    from {{ ref('stg_facilities') }} as f
    left join {{ ref('stg_facilities') }} as p
        on p.facility_id = f.parent_facility_id
),

facility_months as (
    select m.month, m.month_end, f.*
    from {{ ref('int_months') }} as m
    cross join facilities as f
),

membership_on_month_end as (
    select m.month, ms.facility_id, ms.community_id
    from {{ ref('int_months') }} as m
    inner join {{ ref('stg_memberships') }} as ms
        on {{ medcom_valid_on('ms', 'm.month_end') }}
)

select
    fm.month,
    fm.facility_id,
    fm.county_code,
    fm.township_code,
    fm.tier,
    fm.grade,
    fm.ownership,
    fm.tier in ('township', 'village', 'clinic')                            as is_primary_care,
    {{ medcom_is_grade2_plus('fm.grade') }}                                as is_grade2_plus,
    coalesce(own.community_id, parent.community_id)                         as community_id,
    fm.opened_on,
    fm.closed_on,
    fm.parent_facility_id
from facility_months as fm
left join membership_on_month_end as own
    on own.facility_id = fm.facility_id
   and own.month = fm.month
left join membership_on_month_end as parent
    on parent.facility_id = fm.parent_facility_id
   and parent.month = fm.month
