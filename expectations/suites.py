"""Great-expectations suites of the batch-level expectations (expectations/batch.py).

A feed's suite runs on table `dq_eval_<feed>` of the run's DQ file (one row per accepted
file × expectation × coverage key × group, with the observed value and its history's
statistics). It holds one `UnexpectedRowsExpectation` per expectation the contract names
(`batch:` in feeds.yaml): the rows of that expectation breaking its threshold
(`BatchExpectation.failing_sql`, thresholds from `Thresholds`) are the unexpected rows.

Row rules are not in the suites: ingest's row checks decide and quarantine rows
(`ingest/rules.py`); GX judges whole deliveries.

Every expectation carries `meta.medcom_id` (`<feed>.<expectation>`, e.g.
`encounters.volume`) and a plain-words `description`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from expectations.batch import Thresholds, eval_table, for_feed


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of a suite before it becomes a GX object."""

    medcom_id: str  # stable id, unique in the suite: "<feed>.<expectation>"
    expectation: str  # the contract's name ("volume")
    type: str  # GX expectation type (snake case)
    kwargs: dict[str, Any]
    description: str  # plain words

    @property
    def name(self) -> str:
        """Readable name used in audit.dq_results.expectation."""
        return self.medcom_id


def expectation_specs(feed: str, thresholds: Thresholds | None = None) -> list[ExpectationSpec]:
    """The feed's batch-level expectations, in contract order."""
    t = thresholds or Thresholds()
    out = []
    for e in for_feed(feed):
        query = f"SELECT * FROM {{batch}} WHERE expectation = '{e.id}' AND ({e.failing_sql(t)})"
        out.append(
            ExpectationSpec(
                f"{feed}.{e.id}",
                e.id,
                "unexpected_rows_expectation",
                {"unexpected_rows_query": query},
                e.description,
            )
        )
    return out


def feeds_with_suites() -> list[str]:
    from medcom.contract import load_contract

    c = load_contract()
    return [f for f in c.load_order() if c.feeds[f].batch]


def build_suite(feed: str, thresholds: Thresholds | None = None, name: str | None = None):
    """A GX `ExpectationSuite` (not registered with any context) for the feed."""
    from expectations import gx_duckdb

    gx = gx_duckdb.import_gx()
    gx_duckdb.context()  # GX needs an active context to build suites
    suite = gx.ExpectationSuite(name=name or f"medcom.{feed}")
    for s in expectation_specs(feed, thresholds):
        suite.add_expectation(
            gx.expectations.UnexpectedRowsExpectation(
                **s.kwargs, description=s.description, meta={"medcom_id": s.medcom_id}
            )
        )
    return suite


def _strip_ids(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_ids(v) for k, v in obj.items() if k not in ("id", "rendered_content")}
    if isinstance(obj, list):
        return [_strip_ids(v) for v in obj]
    return obj


def suite_json(feed: str) -> dict:
    """The suite as GX serialises it (default thresholds), without the random ids."""
    suite = build_suite(feed)
    data = _strip_ids(suite.to_json_dict())
    meta = data.get("meta", {})
    meta.pop("great_expectations_version", None)
    data["meta"] = {**meta, "medcom_feed": feed, "table": eval_table(feed), "thresholds": Thresholds().__dict__}
    return data


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
