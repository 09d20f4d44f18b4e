-- The months this build rebuilds in the incremental models (macros/medcom_incremental.sql): the
-- month of every row, current or since replaced, that a batch of audit.build_pending loaded, and
-- of every row such a batch replaced. `medcom build` fills build_pending with the batches ingested
-- since the last successful build (every batch in a full build, so every month with data).
with pending as (
    select batch_id from {{ source('audit', 'build_pending') }}
),

-- rows loaded by a pending batch, and rows a pending batch replaced (two semi-joins: an OR of the
-- two would scan each table with a slower mark join)
touched as (
    {% for feed, month in medcom_feed_months().items() -%}
    {% for col in ['_batch_id', '_superseded_by'] -%}
    select distinct {{ month }} as month
    from {{ source('raw', feed) }}
    where {{ col }} in (select batch_id from pending)
    {%- if not loop.last %}
    union all
    {% endif %}
    {%- endfor %}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
)

select distinct month
from touched
where month is not null
