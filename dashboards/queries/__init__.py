"""The dashboard's only data access: read-only queries on the published warehouse snapshot.

Each request builds one `Queries(scope)` (`with Queries(scope) as q:`): it opens a read-only
connection to the snapshot named by `published/CURRENT` on first use (so a new build shows up on
the next request, without a restart) and closes it at the end.

How a query gets the request's scope: it never looks at the user. The page frame
(`dashboards.frame`) decides the scope once per request from the signed-in user
(`dashboards.frame.current_scope()`) and passes it as `Queries(scope)`; every query module filters
with the one rule in `orgs.OrgQueries.in_scope` (and its helpers `scope_filter`, `scope_orgs`,
`scope_keys`). A new query module: a small mixin class with methods that use `self.df(...)`,
`self.has(...)` and those helpers, added to `Queries` below.

Modules by concern:
- `base`: connection plumbing (`Reader`, `NoWarehouse`);
- `orgs`: the org tree, drill-down paths and the scope rule;
- `kpis`: KPI cells for the scorecard, trends, peer distributions;
- `catalogue`: KPI definitions, the data dictionary, last loads;
- `fund`, `supervision`, `quality`: the pages of those names;
- `closes`: closed figures of a month, restated cells, the revision log;
- `league`: league tables of a month (the bulletin's computation), in scope;
- `trust`: the data quality behind each KPI cell (the provisional mark);
- `sql`: the analysts' sandbox, run on the scope's snapshot;
- `dates`: month arithmetic.

Only the warehouse contract of outputs.md is used (marts.kpi_values, dim_kpi, dim_org,
fct_<feed> with the feed's canonical columns, audit.*).
"""

from __future__ import annotations

from dashboards.queries.base import NoWarehouse, Reader, connect
from dashboards.queries.catalogue import CatalogueQueries, dbt_descriptions, manifest_stamp
from dashboards.queries.closes import CloseQueries
from dashboards.queries.dates import parse_month
from dashboards.queries.fund import FundQueries
from dashboards.queries.kpis import PERIOD_PREFERENCE, KpiQueries
from dashboards.queries.league import LeagueQueries
from dashboards.queries.orgs import LEVEL_ORDER, Org, OrgQueries
from dashboards.queries.quality import (
    ACCEPTED,
    COMMUNITY_FEEDS,
    DEFAULT_LATE_DAY,
    MONTHLY_FEEDS,
    YEARLY_FEEDS,
    QualityQueries,
)
from dashboards.queries.sql import run_sql
from dashboards.queries.supervision import SupervisionQueries
from dashboards.queries.trust import TrustQueries
from medcom.access.scope import Scope


class Queries(
    OrgQueries,
    KpiQueries,
    CatalogueQueries,
    FundQueries,
    SupervisionQueries,
    QualityQueries,
    CloseQueries,
    LeagueQueries,
    TrustQueries,
    Reader,
):
    """All query modules on one per-request connection, filtered by `scope`."""


__all__ = [
    "ACCEPTED",
    "COMMUNITY_FEEDS",
    "DEFAULT_LATE_DAY",
    "LEVEL_ORDER",
    "MONTHLY_FEEDS",
    "PERIOD_PREFERENCE",
    "YEARLY_FEEDS",
    "NoWarehouse",
    "Org",
    "Queries",
    "Scope",
    "connect",
    "dbt_descriptions",
    "manifest_stamp",
    "parse_month",
    "run_sql",
]
