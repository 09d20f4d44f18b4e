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
]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables and the audit tables (idempotent)."""
    create_raw_tables(con)
    for ddl in AUDIT_DDL:
        con.execute(ddl)


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
)


def insert_batch(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    cols = ", ".join(BATCH_COLUMNS)
    con.execute(
        f"INSERT INTO audit.ingest_batches ({cols}) VALUES ({', '.join('?' for _ in BATCH_COLUMNS)})",
        [row.get(c) for c in BATCH_COLUMNS],
    )


def insert_dq(con: duckdb.DuckDBPyConnection, batch_id: str, results) -> None:
    rows = []
    for r in results or []:
        obs = getattr(r, "observed_value", None)
        unexpected = getattr(r, "unexpected_count", None)
        rows.append(
            (
                batch_id,
                str(getattr(r, "expectation", "")),
                bool(getattr(r, "success", False)),
                None if obs is None else str(obs),
                None if unexpected is None else int(unexpected),
            )
        )
    if rows:
        con.executemany("INSERT INTO audit.dq_results VALUES (?, ?, ?, ?, ?)", rows)
