-- One row per current encounter with its month and attributions:
--   month: visit month, discharge month for inpatients (counted when settled);
--   insured county: first 6 digits of the insured township;
--   facility county: the registry's county when the facility is in the registry, else the given code;
--   catchment community: the insured township's catchment on the month's last day;
--   member community: the facility's membership (else its parent's) on the month's last day.
-- Equi-joins on (facility, month) and (township, month) keep this set-based at 24M rows.
-- Incremental by month (macros/medcom_incremental.sql): a month's rows depend only on that month's
-- encounters and the registry as of its last day.
{{ config(
    materialized=medcom_by_month(),
    incremental_strategy='append',
    pre_hook="{{ medcom_delete_rebuilt_months('month') }}",
) }}
-- depends_on: {{ ref('int_build_months') }}
with encounters as (
    select
        e.*,
        {{ medcom_left('e.insured_township_code', 6) }}  as insured_county_code,
        {{ medcom_month_start("case when e.encounter_type = 'inpatient' then e.discharge_date else e.visit_date end") }} as month
    from {{ ref('stg_encounters') }} as e
),

rebuilt as (
    select * from encounters
    where {{ medcom_in_rebuilt_months('month') }}
)

select
    e.encounter_id,
    e.insured_county_code,
    e.month,
    e.encounter_type,
    e.scheme,
    e.referral,
    e.facility_id,
    coalesce(f.county_code, e.facility_county_code)                             as facility_county_code,
    f.tier                                                                      as facility_tier,
    f.facility_id is not null                                                   as is_registry_facility,
    coalesce(f.is_primary_care, false)                                          as is_primary_care,
    coalesce(coalesce(f.county_code, e.facility_county_code) = e.insured_county_code, false) as is_in_county,
    t.community_id                                                              as catchment_community_id,
    f.community_id                                                              as member_community_id,
    e.total_cost,
    e.fund_paid,
    e.patient_id,
    e.insured_township_code,
    e.visit_date,
    e.discharge_date,
    e.diagnosis_code,
    e._batch_id
from rebuilt as e
left join {{ ref('int_facilities_by_month') }} as f
    on f.facility_id = e.facility_id
   and f.month = e.month
left join {{ ref('int_townships_by_month') }} as t
    on t.township_code = e.insured_township_code
   and t.month = e.month
