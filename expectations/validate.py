"""Run a feed's batch-level suite once per run on table `dq_eval_<feed>` of the run's DQ file.

`validate_feed(dq_db, feed)` opens a SQL datasource on `duckdb:///<dq_db>` (read-only) in the
process's one ephemeral GX context (`gx_duckdb.context()`: made once per process), validates
the feed's suite (`expectations.suites`) on the whole table — every accepted file of the feed
in this run at once, so the cost is per feed and run, not per file — closes GX's connection
and returns, per batch id, one `DQResult` per expectation in contract order.

A result's `status` is `passed`, `failed` (a warning: `messages` in plain words, one per
failing key) or `skipped` (every key had too little history; `messages` say why). The caller
must have detached the DQ file from its own connection first (DuckDB refuses to open one
file with two configurations in one process).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from expectations import gx_duckdb
from expectations.batch import EXPECTATIONS, Thresholds, eval_table, is_skipped, message, observed_json, skip_reason
from expectations.suites import build_suite, expectation_specs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DQResult:
    expectation: str  # "<feed>.<expectation>"
    success: bool  # False only when failed (a skipped expectation is not a failure)
    observed_value: str | None  # JSON text: every key's observed value and history statistics
    unexpected_count: int | None  # failing keys
    description: str = ""
    expectation_type: str = ""
    status: str = "passed"  # passed | failed | skipped
    messages: tuple[str, ...] = field(default_factory=tuple)  # plain words (failures or skip reasons)
    findings: tuple[dict, ...] = field(default_factory=tuple)  # failing rows: org, period, grp, message
    exception: str | None = None


def _rows(dq_db: Path, feed: str) -> list[dict]:
    con = duckdb.connect(str(dq_db), read_only=True)
    try:
        cur = con.execute(f"SELECT * FROM {eval_table(feed)} ORDER BY batch_id, expectation, key, grp")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _gx_failures(dq_db: Path, feed: str, thresholds: Thresholds) -> dict[str, Any]:
    """{medcom_id: GX validation result} for the feed's suite on `dq_eval_<feed>`."""
    ctx = gx_duckdb.context()
    token = uuid.uuid4().hex[:12]
    suite = build_suite(feed, thresholds, name=f"medcom.{feed}.{token}")
    ds_name = f"dq_{token}"
    ds = ctx.data_sources.add_sql(
        name=ds_name,
        connection_string=f"duckdb:///{Path(dq_db).resolve()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        asset = ds.add_table_asset(name=eval_table(feed), table_name=eval_table(feed))
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        outcome = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    finally:
        _close(ds)
        try:
            ctx.data_sources.delete(ds_name)
        except Exception:  # noqa: BLE001 - best effort cleanup of the ephemeral registry
            log.debug("could not delete GX datasource %s", ds_name, exc_info=True)
    return {(r.expectation_config.meta or {}).get("medcom_id"): r for r in outcome.results}


def validate_feed(dq_db: Path, feed: str, thresholds: Thresholds | None = None) -> dict[str, list[DQResult]]:
    """{batch_id: [DQResult per expectation]} for every batch with rows in `dq_eval_<feed>`."""
    t = thresholds or Thresholds.from_env()
    started = time.perf_counter()
    specs = expectation_specs(feed, t)
    rows = _rows(dq_db, feed)
    by_batch: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_batch[r["batch_id"]][r["expectation"]].append(r)
    if not rows:
        return {}
    gx = _gx_failures(dq_db, feed, t)
    out: dict[str, list[DQResult]] = {}
    for batch_id, per_exp in by_batch.items():
        results = []
        for s in specs:
            e = EXPECTATIONS[s.expectation]
            mine = per_exp.get(s.expectation, [])
            r = gx.get(s.medcom_id)
            exc = None
            failing: list[dict] = []
            if r is None:
                exc = "no result from GX"
            else:
                info = r.exception_info or {}
                if info.get("raised_exception"):
                    exc = str(info.get("exception_message") or "error")
                details = (r.result or {}).get("details") or {}
                failing = [x for x in details.get("unexpected_rows") or [] if x.get("batch_id") == batch_id]
            skipped = [x for x in mine if is_skipped(e, x, t)]
            findings = tuple(
                {
                    "org": x["org"],
                    "period": x["period"],
                    "grp": x.get("grp"),
                    "message": message(e, x, feed),
                    "message_zh": message(e, x, feed, "zh"),
                }
                for x in failing
            )
            if exc is not None:
                status, msgs = "failed", (f"could not be evaluated: {exc}",)
            elif failing:
                status, msgs = "failed", tuple(f["message"] for f in findings)
            elif mine and len(skipped) == len(mine):
                status, msgs = "skipped", tuple(skip_reason(x, t) for x in skipped)
            elif not mine:
                status, msgs = "skipped", ("no county-month in the file to evaluate",)
            else:
                status, msgs = "passed", tuple(skip_reason(x, t) for x in skipped)
            results.append(
                DQResult(
                    expectation=s.name,
                    success=status != "failed",
                    observed_value=observed_json(e, mine),
                    unexpected_count=len(failing) if exc is None else None,
                    description=s.description,
                    expectation_type=s.type,
                    status=status,
                    messages=msgs,
                    findings=findings,
                    exception=exc,
                )
            )
        out[batch_id] = results
    log.info("GX validated %s: %d batches in %.2fs", feed, len(out), time.perf_counter() - started)
    return out


def not_evaluated(feed: str, reason: str) -> list[DQResult]:
    """Results of a batch that was not evaluated (rejected file): every expectation skipped."""
    return [
        DQResult(s.name, True, None, None, s.description, s.type, "skipped", (reason,)) for s in expectation_specs(feed)
    ]


def _close(ds: Any) -> None:
    """Close GX's persisted DuckDB connection so the scratch file is free again."""
    ee = getattr(ds, "_execution_engine", None)
    if ee is not None:
        conn = getattr(ee, "_connection", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
            ee._connection = None
        with contextlib.suppress(Exception):
            ee.engine.dispose()
    engine = getattr(ds, "_engine", None)
    if engine is not None:
        with contextlib.suppress(Exception):
            engine.dispose()
