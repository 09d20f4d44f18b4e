"""The one warehouse transaction per feed and run: rows, supersession, audit rows.

Everything a run changes for one feed commits together (BEGIN … COMMIT on the writer
connection); a crash or kill before COMMIT leaves the warehouse as it was (DuckDB
discards the uncommitted WAL tail on the next open). The lake's list of files changes in
the same transaction (warehouse.lake).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import duckdb

from ingest.audit import insert_batch, insert_coverage, insert_dq
from ingest.coverage import REFERENCE_KEY, identity_parts
from medcom.contract import load_contract
from warehouse import lake

ACCEPTED = ("accepted", "accepted_with_quarantine")
PAUSE_ENV = "MEDCOM_TEST_PAUSE_IN_LOAD"  # seconds to sleep inside the transaction (tests only)
PAUSE_AFTER_COMMIT_ENV = "MEDCOM_TEST_PAUSE_AFTER_COMMIT"  # … after COMMIT, before the lake files move (tests only)


def _q(c: str) -> str:
    return '"' + c + '"'


def sql_path(path) -> str:
    """A file path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def valid_rows(alias: str) -> str:
    """The rows of a scratch database that load (table `valid`, kept by `ingest.run` after the
    checks: the feed's columns, `_row_number`, `_coverage_key`, `_identity`, in file order)."""
    return f"{alias}.valid"


def _pause_hook(env: str = PAUSE_ENV, where: str = "inside the load transaction") -> None:
    secs = os.environ.get(env)
    if secs:
        print(f"medcom: pausing {secs}s {where} ({env})", file=sys.stderr, flush=True)
        time.sleep(float(secs))


def _supersede_reference(con, feed: str, run_id: str, new_batch: str) -> list[str]:
    rows = con.execute(
        f"SELECT _batch_id, count(*) FROM raw.{feed} WHERE _superseded_by IS NULL AND _run_id <> ? GROUP BY 1 ORDER BY 1",
        [run_id],
    ).fetchall()
    if rows:
        con.executemany(
            "INSERT INTO audit.replacements VALUES (?, ?, ?, ?, ?)",
            [(old, new_batch, feed, REFERENCE_KEY, int(cnt)) for old, cnt in rows],
        )
        con.execute(
            f"UPDATE raw.{feed} SET _superseded_by = ? WHERE _superseded_by IS NULL AND _run_id <> ?",
            [new_batch, run_id],
        )
    return []


def _supersede_activity(con, feed: str, run_id: str, accepted) -> list[str]:
    warnings: list[str] = []
    union = " UNION ALL ".join(
        f"SELECT _coverage_key, _identity, '{o.batch_id}' AS batch FROM {valid_rows(o.alias)}" for o in accepted
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _newkeys AS SELECT _coverage_key AS key, min(batch) AS batch, count(*) AS n "
        f"FROM ({union}) GROUP BY 1"
    )
    # coverage keys: every current row an earlier run loaded under a covered key
    old = con.execute(
        f"""SELECT k.key, k.n, count(*) AS old_n FROM raw.{feed} o JOIN _newkeys k ON o._coverage_key = k.key
        WHERE o._superseded_by IS NULL AND o._run_id <> ? GROUP BY k.key, k.n ORDER BY k.key""",
        [run_id],
    ).fetchall()
    for key, new_n, old_n in old:
        if new_n * 2 < old_n:
            warnings.append(
                f"{feed} {key}: the new data has {new_n:,} rows where {old_n:,} were loaded before "
                "(more than half of the rows dropped)"
            )
    if old:
        con.execute(
            f"""INSERT INTO audit.replacements
            SELECT o._batch_id, k.batch, '{feed}', o._coverage_key, count(*) FROM raw.{feed} o
            JOIN _newkeys k ON o._coverage_key = k.key
            WHERE o._superseded_by IS NULL AND o._run_id <> ? GROUP BY ALL ORDER BY ALL""",
            [run_id],
        )
        con.execute(
            f"""UPDATE raw.{feed} AS o SET _superseded_by = k.batch FROM _newkeys k
            WHERE o._coverage_key = k.key AND o._superseded_by IS NULL AND o._run_id <> ?""",
            [run_id],
        )
    # identities: a row already loaded by an earlier run is replaced whatever its key.
    # The join is on the identity's parts (raw columns), so DuckDB can prune the raw table
    # by the new identities' min/max instead of computing an identity for every row.
    parts = identity_parts(feed)
    if parts:
        new_parts = ", ".join(f"{e} AS p{k}" for k, e in enumerate(parts))
        union_ids = " UNION ALL ".join(
            f"SELECT {new_parts}, '{o.batch_id}' AS batch FROM {valid_rows(o.alias)}" for o in accepted
        )
        pcols = ", ".join(f"p{k}" for k in range(len(parts)))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _newids AS SELECT {pcols}, min(batch) AS batch FROM ({union_ids}) GROUP BY ALL"
        )
        on = " AND ".join(f"{e} = i.p{k}" for k, e in enumerate(identity_parts(feed, prefix="o.")))
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _idhits AS
            SELECT o._batch_id AS old_batch, i.batch AS new_batch, o._coverage_key AS key, o._row_number AS rn
            FROM raw.{feed} o JOIN _newids i ON {on}
            WHERE o._superseded_by IS NULL AND o._run_id <> ?""",
            [run_id],
        )
        if con.execute("SELECT count(*) FROM _idhits").fetchone()[0]:
            con.execute(
                f"""INSERT INTO audit.replacements SELECT old_batch, new_batch, '{feed}', key, count(*)
                FROM _idhits GROUP BY ALL ORDER BY ALL"""
            )
            con.execute(
                f"""UPDATE raw.{feed} AS o SET _superseded_by = h.new_batch FROM _idhits h
                WHERE o._batch_id = h.old_batch AND o._row_number = h.rn AND o._superseded_by IS NULL"""
            )
        con.execute("DROP TABLE _idhits")
        con.execute("DROP TABLE _newids")
    con.execute("DROP TABLE _newkeys")
    return warnings


def commit_feed(con: duckdb.DuckDBPyConnection, feed: str, outcomes, run_id: str) -> list[str]:
    """Load the accepted files of `feed` and write every outcome's audit rows in ONE transaction."""
    spec = load_contract().feeds[feed]
    accepted = [o for o in outcomes if o.verdict in ACCEPTED]
    with_rows = [o for o in outcomes if o.scratch_ready]  # their scratch databases are attached
    warnings: list[str] = []
    staged = None
    try:
        con.execute("BEGIN TRANSACTION")
        cols = ", ".join(_q(c) for c in spec.columns)
        for o in accepted:
            con.execute(
                f"INSERT INTO raw.{feed} ({cols}, _batch_id, _run_id, _row_number, _coverage_key, _superseded_by) "
                f"SELECT {cols}, ?, ?, _row_number, _coverage_key, NULL FROM {valid_rows(o.alias)}",
                [o.batch_id, run_id],
            )
        _pause_hook()
        if accepted:
            if spec.is_reference:
                warnings += _supersede_reference(con, feed, run_id, accepted[0].batch_id)
            else:
                warnings += _supersede_activity(con, feed, run_id, accepted)
        for o in outcomes:
            if warnings and o.verdict in ACCEPTED:
                o.warnings = o.warnings + [w for w in warnings if w not in o.warnings]
            insert_batch(con, o.batch_row())
            if o.verdict == "accepted_with_quarantine":
                con.execute(
                    f"INSERT INTO audit.quarantine SELECT ?, _row_number, reason, row_json FROM {o.alias}.quar ORDER BY _row_number",
                    [o.batch_id],
                )
            insert_dq(con, o.batch_id, o.feed, o.dq_results)
            insert_coverage(con, o.batch_id, o.feed, o.coverage_rows)
        # the lake's partitions this transaction changed, listed in audit.lake_files (same transaction)
        staged = lake.stage_feed(con, feed, run_id) if accepted else None
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        for o in with_rows:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DETACH {o.alias}")
    if staged is not None:
        _pause_hook(PAUSE_AFTER_COMMIT_ENV, "after COMMIT, before the lake files move")
        lake.promote(staged)
    return warnings


def record_outcomes(con: duckdb.DuckDBPyConnection, outcomes) -> None:
    """Batch records of files that never reached a feed (unknown feed, duplicates)."""
    con.execute("BEGIN TRANSACTION")
    try:
        for o in outcomes:
            insert_batch(con, o.batch_row())
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
