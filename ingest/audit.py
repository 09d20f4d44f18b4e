"""Audit tables (outputs.md) written by ingest, plus `audit.runs`."""

from __future__ import annotations

import duckdb

from medcom.contract.export import create_raw_tables

AUDIT_DDL = [
    "CREATE SCHEMA IF NOT EXISTS audit",
    """CREATE TABLE IF NOT EXISTS audit.runs (
        run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, files INTEGER)""",
    """CREATE TABLE IF NOT EXISTS audit.ingest_batches (
        batch_id VARCHAR, run_id VARCHAR, feed VARCHAR, file_name VARCHAR, sha256 VARCHAR,
        received_at TIMESTAMP, verdict VARCHAR, rows_read BIGINT, rows_loaded BIGINT,
        rows_quarantined BIGINT, reasons VARCHAR, coverage VARCHAR, warnings VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS audit.replacements (
        old_batch_id VARCHAR, new_batch_id VARCHAR, feed VARCHAR, coverage_key VARCHAR, rows_replaced BIGINT)""",
    """CREATE TABLE IF NOT EXISTS audit.quarantine (
        batch_id VARCHAR, row_number BIGINT, reason VARCHAR, row_json VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS audit.dq_results (
        batch_id VARCHAR, expectation VARCHAR, success BOOLEAN, observed_value VARCHAR, unexpected_count BIGINT)""",
    # received_at given with `medcom ingest --received-at` (a back-loaded file's true arrival)
    "ALTER TABLE audit.ingest_batches ADD COLUMN IF NOT EXISTS received_at_stated BOOLEAN",
    # batch-level expectations (expectations/batch.py): passed | failed | skipped, in plain words
    "ALTER TABLE audit.dq_results ADD COLUMN IF NOT EXISTS status VARCHAR",
    "ALTER TABLE audit.dq_results ADD COLUMN IF NOT EXISTS description VARCHAR",
    "ALTER TABLE audit.dq_results ADD COLUMN IF NOT EXISTS message VARCHAR",
    # one row per failing county-month (× group) of a failed batch-level expectation
    """CREATE TABLE IF NOT EXISTS audit.dq_findings (
        batch_id VARCHAR, feed VARCHAR, expectation VARCHAR, county VARCHAR, period VARCHAR, grp VARCHAR,
        message VARCHAR, message_zh VARCHAR)""",
    # what a batch delivered: one row per coverage key (org = county, community or region;
    # county = the org's county; period = YYYY-MM or YYYY); rejected batches too (rows_loaded 0)
    """CREATE TABLE IF NOT EXISTS audit.batch_coverage (
        batch_id VARCHAR, feed VARCHAR, org VARCHAR, county VARCHAR, period VARCHAR,
        rows_loaded BIGINT, rows_quarantined BIGINT)""",
]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables and the audit tables (idempotent)."""
    create_raw_tables(con)
    for ddl in AUDIT_DDL:
        con.execute(ddl)
    from warehouse import lake

    lake.ensure_schema(con)


BATCH_COLUMNS = (
    "batch_id",
    "run_id",
    "feed",
    "file_name",
    "sha256",
    "received_at",
    "verdict",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "reasons",
    "coverage",
    "warnings",
    "received_at_stated",
)


def insert_batch(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    cols = ", ".join(BATCH_COLUMNS)
    con.execute(
        f"INSERT INTO audit.ingest_batches ({cols}) VALUES ({', '.join('?' for _ in BATCH_COLUMNS)})",
        [row.get(c) for c in BATCH_COLUMNS],
    )


def insert_dq(con: duckdb.DuckDBPyConnection, batch_id: str, feed: str | None, results) -> None:
    rows, findings = [], []
    for r in results or []:
        obs = r.observed_value
        rows.append(
            (
                batch_id,
                r.expectation,
                bool(r.success),
                None if obs is None else str(obs),
                None if r.unexpected_count is None else int(r.unexpected_count),
                r.status,
                r.description,
                "; ".join(r.messages) or None,
            )
        )
        for f in r.findings:
            county = f["org"]
            findings.append(
                (batch_id, feed, r.expectation, county, f["period"], f.get("grp"), f["message"], f.get("message_zh"))
            )
    if rows:
        con.executemany(
            "INSERT INTO audit.dq_results (batch_id, expectation, success, observed_value, unexpected_count, "
            "status, description, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    if findings:
        con.executemany("INSERT INTO audit.dq_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", findings)


def insert_coverage(con: duckdb.DuckDBPyConnection, batch_id: str, feed: str | None, rows) -> None:
    """`rows`: (org, county, period, rows_loaded, rows_quarantined) of one batch."""
    if rows:
        con.executemany(
            "INSERT INTO audit.batch_coverage VALUES (?, ?, ?, ?, ?, ?, ?)", [(batch_id, feed, *r) for r in rows]
        )
