"""Run a feed's great-expectations suite on scratch table `typed`.

`validate(scratch_db, feed, checks)` opens an ephemeral GX context with a SQL datasource on
`duckdb:///<scratch_db>` (read-only), validates the suite of `expectations.suites` on the
whole table `typed`, closes GX's connection again and returns one `DQResult` per
expectation, in suite order. The caller must have closed its own read-write connection to
the scratch file first (DuckDB refuses to open one file with two configurations in one
process); it may reopen it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expectations import gx_duckdb
from expectations.suites import CheckLike, build_suite, expectation_specs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DQResult:
    expectation: str  # stable readable name: "<feed>.<col>.not_null", "check:<check id>", ...
    success: bool
    observed_value: str | None  # JSON text
    unexpected_count: int | None
    description: str = ""  # plain words (the check's reason for checks)
    expectation_type: str = ""  # GX expectation type
    element_count: int | None = None
    exception: str | None = None  # GX could not evaluate the expectation (success is then False)


def _observed(r: Any, kind: str) -> tuple[str | None, int | None, int | None]:
    res = dict(r.result or {})
    element_count = res.get("element_count")
    if kind == "unexpected_rows_expectation":
        count = res.get("observed_value")
        observed: dict[str, Any] = {"unexpected_rows": count}
        return json.dumps(observed), (int(count) if count is not None else None), element_count
    if "unexpected_count" in res:
        count = res.get("unexpected_count")
        observed = {"unexpected_count": count, "element_count": element_count}
        if res.get("unexpected_percent") is not None:
            observed["unexpected_percent"] = round(float(res["unexpected_percent"]), 4)
        return json.dumps(observed), (int(count) if count is not None else None), element_count
    value = res.get("observed_value")
    return (json.dumps(value, ensure_ascii=False, default=str) if value is not None else None), None, element_count


def validate(scratch_db: Path, feed: str, checks: Iterable[CheckLike]) -> list[DQResult]:
    """Validate table `typed` of `scratch_db` against the feed's suite; one DQResult per expectation."""
    checks = list(checks)
    specs = expectation_specs(feed, checks)
    started = time.perf_counter()
    ctx = gx_duckdb.context()
    token = uuid.uuid4().hex[:12]
    suite = build_suite(feed, checks, name=f"medcom.{feed}.{token}")
    ds_name = f"scratch_{token}"
    ds = ctx.data_sources.add_sql(
        name=ds_name,
        connection_string=f"duckdb:///{Path(scratch_db).resolve()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        asset = ds.add_table_asset(name="typed", table_name="typed")
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        outcome = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0})
    finally:
        _close(ds)
        try:
            ctx.data_sources.delete(ds_name)
        except Exception:  # noqa: BLE001 - best effort cleanup of the ephemeral registry
            log.debug("could not delete GX datasource %s", ds_name, exc_info=True)
    by_id: dict[str, Any] = {}
    for r in outcome.results:
        mid = (r.expectation_config.meta or {}).get("medcom_id")
        by_id[mid] = r
    results: list[DQResult] = []
    for s in specs:
        r = by_id.get(s.medcom_id)
        if r is None:
            results.append(DQResult(s.name, False, None, None, s.description, s.type, exception="no result from GX"))
            continue
        exc = None
        info = r.exception_info or {}
        if info.get("raised_exception"):
            exc = str(info.get("exception_message") or "error")
        observed, unexpected, elements = _observed(r, s.type)
        results.append(
            DQResult(
                expectation=s.name,
                success=bool(r.success) and exc is None,
                observed_value=observed,
                unexpected_count=unexpected,
                description=s.description,
                expectation_type=s.type,
                element_count=elements,
                exception=exc,
            )
        )
    log.info("GX validated %s: %d expectations in %.2fs", feed, len(results), time.perf_counter() - started)
    return results


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
