-- What each batch delivered per coverage key; period as the first day of its month or year.
select
    batch_id,
    feed,
    org,
    county,
    period,
    case
        when length(period) = 7 then cast({{ dbt.concat(['period', "'-01'"]) }} as date)
        else cast({{ dbt.concat(['period', "'-01-01'"]) }} as date)
    end                             as period_start,
    rows_loaded,
    rows_quarantined
from {{ source('audit', 'batch_coverage') }}
where period is not null
