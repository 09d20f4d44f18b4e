-- 行政处罚: one row per current case, with the facility's county (and community membership as of
-- the decision month's end).
with f as (
    select facility_id, month, county_code, township_code, community_id
    from {{ ref('int_facilities_by_month') }}
)

select
    p.case_id,
    p.facility_id,
    coalesce(f.county_code, s.county_code)                      as county_code,
    f.township_code,
    f.community_id,
    s.tier                                                      as facility_tier,
    s.ownership                                                 as facility_ownership,
    p.decided_date,
    {{ medcom_month_start('p.decided_date') }}                  as month,
    cast(extract(year from p.decided_date) as integer)         as year,
    p.violation,
    p.violation = 'insurance_fraud'                             as is_insurance_fraud,
    p.fine,
    p.recovered_fund,
    p._batch_id
from {{ ref('stg_penalties') }} p
left join {{ ref('stg_facilities') }} s on s.facility_id = p.facility_id
left join f on f.facility_id = p.facility_id and f.month = {{ medcom_month_start('p.decided_date') }}
