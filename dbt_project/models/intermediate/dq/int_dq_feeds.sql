-- The deliveries a county owes (outputs.md "Data quality" completeness grid), as far as they mark a
-- KPI cell provisional: feeds delivered every month (dense: a month without a file is missing data)
-- and once a year. Event feeds (inspections, penalties, complaints, fund_prepayments) have a key only
-- for months with events, so a month without one is no missing delivery; family E
-- (reported_indicators) is reported per region, not per county. via_community: delivered per
-- community, owed by a county once it has a community.
select 'encounters' as feed, 'month' as cadence, false as via_community
union all select 'phs_services', 'month', false
union all select 'phs_funds', 'month', false
union all select 'workforce', 'month', false
union all select 'population', 'year', false
union all select 'fund_budgets', 'year', true
union all select 'supervision_agencies', 'year', false
