-- 就诊结算记录: current rows only; empty referral = none.
select
    encounter_id,
    patient_id,
    insured_township_code,
    facility_id,
    facility_county_code,
    encounter_type,
    cast(visit_date as date)                    as visit_date,
    cast(discharge_date as date)                as discharge_date,
    coalesce(referral, 'none')                  as referral,
    scheme,
    cast(total_cost as decimal(18, 2))          as total_cost,
    cast(fund_paid as decimal(18, 2))           as fund_paid,
    diagnosis_code,
    _batch_id
from {{ source('raw', 'encounters') }}
where _superseded_by is null
