-- marts.fct_encounters: one row per loaded (current) encounter with derived attribution columns.
-- Incremental by month, as int_encounters_attributed.
{{ config(
    materialized=medcom_by_month(),
    incremental_strategy='append',
    pre_hook="{{ medcom_delete_rebuilt_months('month') }}",
) }}
-- depends_on: {{ ref('int_build_months') }}
select
    encounter_id,
    patient_id,
    insured_township_code,
    insured_county_code,
    facility_id,
    facility_county_code,
    facility_tier,
    is_registry_facility,
    is_primary_care,
    is_in_county,
    encounter_type,
    visit_date,
    discharge_date,
    month,
    referral,
    scheme,
    total_cost,
    fund_paid,
    diagnosis_code,
    catchment_community_id,
    member_community_id,
    _batch_id
from {{ ref('int_encounters_attributed') }}
where {{ medcom_in_rebuilt_months('month') }}
