-- 投诉举报: one row per current complaint. county_code may be a city's code (a city-level
-- complaint, is_city_level) or the province's (is_province_level). is_overdue: closed after due_date, or still open and due_date is
-- before the build's as-of date (var as_of_date).
select
    c.complaint_id,
    c.county_code,
    ci.city_code is not null                                    as is_city_level,
    pr.province_code is not null                                as is_province_level,
    c.facility_id,
    c.received_date,
    {{ medcom_month_start('c.received_date') }}                 as received_month,
    c.due_date,
    {{ medcom_month_start('c.due_date') }}                      as due_month,
    c.closed_date,
    {{ medcom_month_start('c.closed_date') }}                   as closed_month,
    c.closed_date is not null                                   as is_closed,
    coalesce(c.closed_date <= c.due_date, false)                as is_closed_on_time,
    case
        when c.closed_date is not null then c.closed_date > c.due_date
        else c.due_date < {{ medcom_as_of_date() }}
    end                                                         as is_overdue,
    case when c.closed_date is not null
         then {{ medcom_days_between('c.received_date', 'c.closed_date') }} end
                                                                as days_to_close,
    c._batch_id
from {{ ref('stg_complaints') }} c
left join {{ ref('int_city') }} ci on ci.city_code = c.county_code
left join {{ ref('int_province') }} pr on pr.province_code = c.county_code
