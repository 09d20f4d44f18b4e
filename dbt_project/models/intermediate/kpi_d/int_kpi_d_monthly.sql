-- Family D monthly KPI rows: org × month spine, zero-fill, city = every county of the city
-- plus the city's own rows.
{{ medcom_kpi_monthly(
    [ref('int_kpi_d_workforce'), ref('int_kpi_d_inspections'), ref('int_kpi_d_audit_coverage'),
     ref('int_kpi_d_cases')],
    kpis={
        'e_registration_physicians': 'month',
        'e_registration_nurses': 'month',
        'e_registration_facilities': 'month',
        'legal_dept_coverage': 'month',
        'quality_committee_coverage': 'month',
        'random_inspection_completion': 'month ytd',
        'inspection_publication_rate': 'flow',
        'enforcement_record_coverage': 'flow',
        'audit_coverage_5y': 'month',
        'complaint_timely_closure': 'flow',
        'penalty_cases': 'flow',
        'insurance_fraud_cases': 'flow',
        'recovered_fund': 'flow',
        'supervisor_professional_ratio': 'year',
    },
    counts=['penalty_cases', 'insurance_fraud_cases', 'recovered_fund'],
    city_counties='all'
) }}
