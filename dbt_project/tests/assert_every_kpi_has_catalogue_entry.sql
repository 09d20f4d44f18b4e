-- Fails when a KPI computed by any family (or listed in the catalogue) lacks a catalogue entry, a
-- name in either language, a unit, a direction, a formula in either language or its source feeds.
with computed as (
    select distinct kpi_code from {{ ref('int_kpi_union') }}
),

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
)

select
    coalesce(c.kpi_code, k.kpi_code) as kpi_code,
    case
        when k.kpi_code is null then 'no catalogue entry'
        when coalesce(trim(k.name_zh), '') = '' then 'no Chinese name'
        when coalesce(trim(k.name_en), '') = '' then 'no English name'
        when coalesce(trim(k.unit), '') = '' then 'no unit'
        when k.direction is null or k.direction not in ('>=', '<=', 'none') then 'no valid direction'
        when coalesce(trim(k.formula_zh), '') = '' then 'no Chinese formula'
        when coalesce(trim(k.formula_en), '') = '' then 'no English formula'
        when coalesce(trim(k.source_feeds), '') = '' then 'no source feeds'
        when coalesce(trim(k.family), '') = '' then 'no family'
    end as problem
from computed as c
full outer join catalogue as k
    on k.kpi_code = c.kpi_code
where k.kpi_code is null
   or coalesce(trim(k.name_zh), '') = ''
   or coalesce(trim(k.name_en), '') = ''
   or coalesce(trim(k.unit), '') = ''
   or k.direction is null or k.direction not in ('>=', '<=', 'none')
   or coalesce(trim(k.formula_zh), '') = ''
   or coalesce(trim(k.formula_en), '') = ''
   or coalesce(trim(k.source_feeds), '') = ''
   or coalesce(trim(k.family), '') = ''
