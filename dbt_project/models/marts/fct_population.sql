-- marts.fct_population: current population rows with the township's county.
select
    p.township_code,
    {{ medcom_left('p.township_code', 6) }}     as county_code,
    p.year,
    p.residents,
    p.insured_residents,
    p._batch_id
from {{ ref('stg_population') }} as p
