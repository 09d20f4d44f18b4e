-- Ingest batches: verdict and arrival time per file.
select
    batch_id,
    feed,
    file_name,
    verdict,
    cast(received_at as timestamp)  as received_at,
    rows_loaded,
    rows_quarantined
from {{ source('audit', 'ingest_batches') }}
