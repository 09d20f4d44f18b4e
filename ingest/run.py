"""`medcom ingest PATH…`: discover, read, normalise, check, decide, load, audit, publish.

Per file the work happens in a scratch database attached to the writer connection (an
in-memory DuckDB database, never the warehouse itself: DuckDB spills it to
`MEDCOM_HOME/tmp/<run>/spill` beyond `MEDCOM_INGEST_MEMORY`); it keeps the file's rows that
load (`valid`) and its quarantine (`quar`) until each feed's accepted files load in one
warehouse transaction (`ingest.load.commit_feed`). Feeds go in the
contract's load order (reference feeds first: a later reference feed is checked against the
new snapshot of an earlier one), files of a feed in sorted path order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

import warehouse
from expectations import batch as batch_expectations
from ingest.archive import archive_file
from ingest.audit import ensure_schema
from ingest.checks import Check, compile_checks, evaluate
from ingest.coverage import coverage_rows
from ingest.crossfeed import build_peers, copy_refs, enrich
from ingest.discover import discover
from ingest.errors import FileRejected
from ingest.load import ACCEPTED, commit_feed, record_outcomes, sql_path
from ingest.normalize import typed_select
from ingest.read import read_source
from ingest.report import Progress, summary_line, verdict_line
from medcom import progress
from medcom.contract import load_contract
from medcom.errors import UsageError
from medcom.settings import paths as medcom_paths
from warehouse import lake

FIRST_REASONS = 5
LONG_FILE_ROWS = 200_000  # progress lines on stderr for the steps after reading
ACTIVITY_SHARE = 0.01  # more than 1% …
ACTIVITY_MIN = 5  # … and at least 5 invalid rows reject an activity file


@dataclass
class FileOutcome:
    path: Path
    display_name: str
    feed: str | None
    batch_id: str
    run_id: str
    alias: str = ""
    scratch: Path | None = None
    sha256: str | None = None
    received_at: dt.datetime | None = None
    received_at_stated: bool = False  # `--received-at`: the true arrival date of a back-loaded file
    verdict: str = "rejected"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: str | None = None
    first_reasons: list[str] = field(default_factory=list)
    coverage: str | None = None
    warnings: list[str] = field(default_factory=list)
    dq_results: list = field(default_factory=list)
    coverage_rows: list = field(
        default_factory=list
    )  # audit.batch_coverage: (org, county, period, loaded, quarantined)
    scratch_ready: bool = False  # the scratch database (attached as `alias`) has tables `valid` and `quar`
    timings: dict[str, float] = field(default_factory=dict)
    typed_sql: str | None = None  # activity feeds: `typed` is built in one pass by `enrich`
    typed_ready: bool = False

    def batch_row(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "run_id": self.run_id,
            "feed": self.feed,
            "file_name": self.display_name,
            "sha256": self.sha256,
            "received_at": self.received_at,
            "verdict": self.verdict,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "reasons": self.reasons,
            "coverage": self.coverage,
            "warnings": "; ".join(self.warnings) or None,
            "received_at_stated": self.received_at_stated,
        }


@dataclass
class RunResult:
    run_id: str
    outcomes: list[FileOutcome]

    @property
    def ok(self) -> bool:
        return all(o.verdict != "rejected" for o in self.outcomes)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _display_name(path: Path, roots: list[Path]) -> str:
    rp = path.resolve()
    for root in roots:
        r = root.resolve()
        if r.is_dir():
            try:
                return str(rp.relative_to(r))
            except ValueError:
                continue
    parent = path.parent.name
    return f"{parent}/{path.name}" if parent in load_contract().feeds else path.name


class _Run:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        roots: list[Path],
        run_id: str,
        tmp: Path,
        out=None,
        received_at: dt.datetime | dict[Path, dt.datetime] | None = None,
    ):
        self.con = con
        # stated arrivals (`--received-at`, or per file from a delivery calendar), else the moment of ingest
        self.received_at = received_at
        self.roots = roots
        self.run_id = run_id
        self.tmp = tmp
        self.wh = con.execute("SELECT current_database()").fetchone()[0]
        self.seq = 0
        self.accepted_shas: dict[str, str] = {}
        self.out = out  # None: through medcom.progress (stdout, above the bar)
        self.verdicts = "all"
        self.dq_path = tmp / "dq.duckdb"  # batch-level expectation inputs of the run (expectations/batch.py)

    # ---------------------------------------------------------------- per file
    def new_outcome(self, path: Path, feed: str | None) -> FileOutcome:
        self.seq += 1
        bid = f"{self.run_id}-{self.seq:04d}"
        return FileOutcome(
            path=path,
            display_name=_display_name(path, self.roots),
            feed=feed,
            batch_id=bid,
            run_id=self.run_id,
            alias=f"s{self.seq:04d}",
            received_at_stated=self.stated_arrival(path) is not None,
        )

    def stated_arrival(self, path: Path) -> dt.datetime | None:
        if isinstance(self.received_at, dict):
            return self.received_at.get(Path(path).resolve())
        return self.received_at

    def arrival(self, path: Path) -> dt.datetime:
        return self.stated_arrival(path) or _utcnow()

    def _earlier_duplicate(self, o: FileOutcome) -> str | None:
        if o.sha256 in self.accepted_shas:
            return self.accepted_shas[o.sha256]
        row = self.con.execute(
            f"""SELECT b.batch_id FROM audit.ingest_batches b
            WHERE b.sha256 = ? AND b.feed = ? AND b.verdict IN ('accepted', 'accepted_with_quarantine')
              AND EXISTS (SELECT 1 FROM raw.{o.feed} r WHERE r._batch_id = b.batch_id AND r._superseded_by IS NULL)
            ORDER BY b.received_at LIMIT 1""",
            [o.sha256, o.feed],
        ).fetchone()
        return row[0] if row else None

    def prepare(self, o: FileOutcome, duplicates_allowed: bool = True) -> None:
        """Archive, duplicate test, read, pseudonymise, normalise (scratch `typed`)."""
        o.received_at = o.received_at or self.arrival(o.path)
        if o.sha256 is None:
            o.sha256, _ = archive_file(o.path)
        earlier = self._earlier_duplicate(o) if duplicates_allowed else None
        if earlier:
            o.verdict = "duplicate"
            o.reasons = f"same file as batch {earlier}, whose rows are still current: nothing to do"
            return
        con = self.con
        con.execute(f"ATTACH ':memory:' AS {o.alias}")
        try:
            con.execute(f"USE {o.alias}")
            t0 = time.monotonic()
            rr = read_source(o.path, o.feed, con, progress=Progress(o.display_name), tmp_dir=self.tmp)
            o.timings["read"] = time.monotonic() - t0
            o.rows_read = rr.rows_read
            o.warnings += list(rr.warnings or [])
            if rr.rows_read == 0:
                raise FileRejected("no data rows")
            # resident IDs are pseudonymised in the same pass that types the rows (`enrich`)
            o.typed_sql = typed_select(con, o.feed, rr.columns_found)
            if load_contract().feeds[o.feed].is_reference:
                con.execute("CREATE OR REPLACE TABLE typed AS " + o.typed_sql)
                o.typed_sql = None
                con.execute("DROP TABLE source")
            o.typed_ready = True
        except FileRejected as exc:
            o.verdict, o.reasons = "rejected", exc.reason
        except (duckdb.Error, ValueError, OSError, UnicodeError) as exc:  # never lose the other files
            o.verdict, o.reasons = "rejected", f"could not be processed ({type(exc).__name__}: {exc})"
            o.typed_ready = o.scratch_ready = False
        finally:
            con.execute(f"USE {self.wh}")

    def check(self, o: FileOutcome, checks: list[Check]) -> None:
        """Row checks, verdict, scratch tables `reasons` / `quar`, then the GX suite."""
        con = self.con
        spec = load_contract().feeds[o.feed]
        con.execute(f"USE {o.alias}")
        try:
            if o.rows_read >= LONG_FILE_ROWS:
                progress.note(f"checking {o.display_name}: {o.rows_read:,} rows")
            t0 = time.monotonic()
            enrich(con, o.feed, base_sql=o.typed_sql)
            o.timings["normalise"] = time.monotonic() - t0
            if o.typed_sql is not None:
                con.execute("DROP TABLE IF EXISTS source")
                o.typed_sql = None
            run_ids = None
            if spec.identity:
                con.execute(f"CREATE TABLE IF NOT EXISTS runctx.ids_{o.feed} (identity VARCHAR)")
                run_ids = f"runctx.ids_{o.feed}"
            t0 = time.monotonic()
            evaluate(con, checks, run_ids=run_ids)
            o.timings["checks"] = time.monotonic() - t0
            invalid = con.execute("SELECT count(*) FROM reasons").fetchone()[0]
            first = con.execute(
                f"SELECT 'row ' || _row_number || ': ' || reason FROM reasons "
                f"ORDER BY _row_number LIMIT {FIRST_REASONS}"
            ).fetchall()
            o.first_reasons = [r[0] for r in first]
            total = o.rows_read
            detail = ("; first reasons: " + "; ".join(o.first_reasons)) if o.first_reasons else ""
            if spec.is_reference and invalid:
                o.verdict = "rejected"
                o.reasons = f"registry file has invalid rows: {invalid:,} of {total:,}{detail}"
            elif not spec.is_reference and invalid > ACTIVITY_SHARE * total and invalid >= ACTIVITY_MIN:
                o.verdict = "rejected"
                o.reasons = f"too many invalid rows: {invalid:,} of {total:,} (more than 1% and at least 5){detail}"
            else:
                o.verdict = "accepted_with_quarantine" if invalid else "accepted"
                o.rows_quarantined = invalid
                o.rows_loaded = total - invalid
                if invalid:
                    o.reasons = f"{invalid:,} of {total:,} rows quarantined{detail}"
            srcs = ", ".join(f'"{c}" := "{c}__src"' for c in spec.columns)
            con.execute(
                f"CREATE OR REPLACE TABLE quar AS SELECT t._row_number, r.reason, "
                f"CAST(to_json(struct_pack({srcs})) AS VARCHAR) AS row_json "
                "FROM typed t JOIN reasons r USING (_row_number)"
            )
            if o.verdict in ACCEPTED:
                keys = [
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT _coverage_key FROM typed ANTI JOIN reasons USING (_row_number) ORDER BY 1"
                    ).fetchall()
                ]
                o.coverage = ", ".join(k for k in keys if k is not None) or None
                if run_ids:
                    con.execute(
                        f"INSERT INTO {run_ids} SELECT _identity FROM typed ANTI JOIN reasons USING (_row_number)"
                    )
                self.accepted_shas[o.sha256] = o.batch_id
            o.coverage_rows = coverage_rows(con, o.feed, accepted=o.verdict in ACCEPTED)
            if o.verdict in ACCEPTED and spec.batch:
                t0 = time.monotonic()
                con.execute(f"ATTACH IF NOT EXISTS {sql_path(self.dq_path)} AS dqctx")
                batch_expectations.profile(con, o.feed, o.batch_id, o.alias, self.wh, self.run_id)
                o.timings["batch profile"] = time.monotonic() - t0
            if o.verdict in ACCEPTED:
                # what the load transaction needs, in file order; the rest of the scratch goes
                t0 = time.monotonic()
                con.execute(
                    f"CREATE OR REPLACE TABLE valid AS SELECT {', '.join(_q(c) for c in spec.columns)}, "
                    "_row_number, _coverage_key, _identity FROM typed ANTI JOIN reasons USING (_row_number) "
                    "ORDER BY _row_number"
                )
                for t in ("typed", "reasons", "peers", "self_idx"):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
                o.timings["keep valid rows"] = time.monotonic() - t0
            o.scratch_ready = o.verdict in ACCEPTED
        except FileRejected as exc:
            o.verdict, o.reasons = "rejected", exc.reason
        except (duckdb.Error, ValueError, OSError, UnicodeError) as exc:  # never lose the other files
            o.verdict, o.reasons = "rejected", f"could not be processed ({type(exc).__name__}: {exc})"
            o.typed_ready = o.scratch_ready = False
        finally:
            con.execute(f"USE {self.wh}")
        if not o.scratch_ready:
            self._detach_quiet(o)

    def validate_batches(self, feed: str, outs: list[FileOutcome]) -> None:
        """The feed's batch-level expectations (great-expectations), once for all its files of
        the run; a failure is a warning on the batch, never a change of verdict."""
        if not load_contract().feeds[feed].batch:
            return
        from expectations.validate import not_evaluated, validate_feed

        t0 = time.monotonic()
        with contextlib.suppress(duckdb.Error):
            self.con.execute("DETACH dqctx")
        results: dict = {}
        if any(o.verdict in ACCEPTED for o in outs) and self.dq_path.exists():
            try:
                results = validate_feed(self.dq_path, feed)
            except Exception as exc:  # noqa: BLE001 - a GX failure must not lose the files' verdicts
                for o in outs:
                    if o.verdict in ACCEPTED:
                        o.warnings.append(f"batch-level expectations could not run: {type(exc).__name__}: {exc}")
        for o in outs:
            if o.batch_id in results:
                o.dq_results = results[o.batch_id]
                o.warnings += [m for r in o.dq_results if r.status == "failed" for m in r.messages]
            elif o.verdict == "rejected":
                o.dq_results = not_evaluated(feed, "not evaluated: the file was rejected")
        if outs:
            outs[0].timings["expectations (feed)"] = time.monotonic() - t0

    # ---------------------------------------------------------------- per feed
    def run_feed(self, feed: str, files: list[Path]) -> list[FileOutcome]:
        outs = [self.new_outcome(p, feed) for p in files]
        checks = compile_checks(feed)
        # the current reference snapshots (including those this run just committed), as temp
        # tables every scratch DB of the feed resolves `ref_*` against
        copy_refs(self.con, self.wh, "temp")
        spec = load_contract().feeds[feed]
        # a reference snapshot is re-sent only when every file of it is: otherwise the files
        # that did not change are part of the new snapshot and are processed again
        dup_ok = True
        if spec.is_reference:
            for o in outs:
                o.received_at = self.arrival(o.path)
                o.sha256, _ = archive_file(o.path)
            dup_ok = all(self._earlier_duplicate(o) for o in outs)
        for o in outs:
            self.prepare(o, duplicates_allowed=dup_ok)
            if o.typed_ready and not spec.is_reference:
                self.check(o, checks)
            elif o.typed_ready is False and o.verdict != "duplicate":
                self._detach_quiet(o)
            if not (o.typed_ready and spec.is_reference):
                self.done(o)
        if spec.is_reference:
            ready = [o for o in outs if o.typed_ready]
            if len(ready) > 1:
                build_peers(self.con, feed, [o.alias for o in ready])
            for o in ready:
                self.check(o, checks)
                self.done(o)
            _reject_partial_snapshot(outs)
        total = sum(o.rows_loaded for o in outs)
        self.validate_batches(feed, outs)
        progress.note(f"loading {feed}: {total:,} rows in one transaction")
        t0 = time.monotonic()
        try:
            commit_feed(self.con, feed, outs, self.run_id)
        finally:
            for o in outs:  # the scratch databases of the feed (commit_feed detached those it loaded)
                self._detach_quiet(o)
        load_time = time.monotonic() - t0
        timings = [
            f"  timing {o.display_name}: " + ", ".join(f"{k} {v:.1f}s" for k, v in o.timings.items()) for o in outs
        ]
        timings.append(f"  timing {feed}: load transaction {load_time:.1f}s")
        for line in timings:  # in the log; on screen too with MEDCOM_INGEST_TIMING
            if os.environ.get("MEDCOM_INGEST_TIMING"):
                progress.echo(line, err=True)
            else:
                progress.detail(line)
        for o in outs:
            self.verdict(o)
        return outs

    def verdict(self, o: FileOutcome) -> None:
        """The file's verdict line (and its warnings): on `out`, or through medcom.progress."""
        lines = [verdict_line(o)] + [f"  warning: {w}" for w in o.warnings]
        shown = self.verdicts == "all" or o.verdict in ("rejected", "accepted_with_quarantine") or o.warnings
        for line in lines:
            if shown:
                progress.echo(line, file=self.out)
            else:
                progress.detail(line)

    def done(self, o: FileOutcome) -> None:
        """One more file processed (the ingest bar)."""
        step = progress.current()
        if step is not None:
            step.advance()
            step.note(o.display_name)

    def _detach_quiet(self, o: FileOutcome) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.execute(f"DETACH {o.alias}")


def _reject_partial_snapshot(outs: list[FileOutcome]) -> None:
    """A registry is never loaded partly: when one file of a reference feed's snapshot is
    rejected, the feed's other files in this run are rejected with it (the previous snapshot
    stays current)."""
    rejected = [o for o in outs if o.verdict == "rejected"]
    if not rejected:
        return
    names = ", ".join(o.display_name for o in rejected)
    for o in outs:
        if o.verdict in ACCEPTED:
            o.verdict = "rejected"
            o.reasons = (
                f"another file of this registry snapshot was rejected ({names}); "
                "a registry is never loaded partly, so the previous snapshot stays current"
            )
            o.rows_loaded = o.rows_quarantined = 0
            o.scratch_ready = False


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


INGEST_MEMORY_ENV = "MEDCOM_INGEST_MEMORY"


def _scratch_settings(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """Bound the writer's memory (`MEDCOM_INGEST_MEMORY`, default 3GB): beyond it DuckDB spills
    the scratch databases and large operators to the run's folder (removed after the run, and
    by the next run after a kill: it may hold resident IDs before pseudonymisation)."""
    spill = tmp / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = {sql_path(os.environ.get(INGEST_MEMORY_ENV) or '3GB')}")
    con.execute(f"SET temp_directory = {sql_path(spill)}")


def _remove_stale_scratch(folder: Path, keep: Path) -> None:
    """Scratch folders of killed runs (they may hold a file's raw resident IDs): we hold the
    writer lock, so no other run is using them."""
    for d in folder.glob("r*-*"):
        if d.is_dir() and d != keep:
            shutil.rmtree(d, ignore_errors=True)


def _warm_up_gx() -> None:
    """Create the process's GX context in a background thread: its import and start-up are a
    fixed cost per run (expectations/gx_duckdb.py), paid while DuckDB reads and checks files."""
    import threading

    from expectations import gx_duckdb

    def warm() -> None:
        with contextlib.suppress(Exception):  # validate_feed reports a broken GX itself
            gx_duckdb.context()

    threading.Thread(target=warm, name="gx-warm-up", daemon=True).start()


def parse_received_at(text: str) -> dt.datetime:
    """`--received-at` value: a date (YYYY-MM-DD) or date and time (ISO), not in the future."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--received-at {text!r} is not a date (YYYY-MM-DD) or date and time") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    if when > _utcnow():
        raise UsageError(f"--received-at {text} is in the future")
    return when


def ingest_paths(
    paths: list[Path],
    out=None,
    verdicts: str = "all",
    received_at: dt.datetime | dict[Path, dt.datetime] | None = None,
    publish: bool = True,
) -> RunResult:
    """Ingest files and inbox folders; prints one verdict line per file and a summary.

    Verdicts go to `out` when given, else to stdout through medcom.progress (every line is
    also in the run's log file). verdicts="problems" shows only rejected and quarantined files
    and warnings on screen (`medcom demo`); the others are in the log.

    `received_at`: the files' true arrival (back-loading), one for all or per resolved path (a
    delivery calendar); recorded as the batches' received_at with received_at_stated, so
    completeness and lateness use it. `publish`: publish a snapshot for readers at the end.
    """
    t0 = time.monotonic()
    roots = [Path(p) for p in paths]
    missing = [str(p) for p in roots if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    everything = discover(roots)
    for f in everything:
        if f.skipped:
            progress.echo(f"  {f.path.name}: {f.reason}", err=True)
    found = [f for f in everything if not f.skipped]
    if any(f.feed and load_contract().feeds[f.feed].batch for f in found):
        _warm_up_gx()  # GX's start-up (seconds) overlaps reading and checking the files
    home = medcom_paths().ensure()
    run_id = "r" + _utcnow().strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)
    tmp = home.tmp / run_id
    tmp.mkdir(parents=True, exist_ok=True)
    outcomes: list[FileOutcome] = []
    stack = contextlib.ExitStack()
    try:
        with warehouse.writer(publish_after=publish) as con:
            _remove_stale_scratch(home.tmp, keep=tmp)
            ensure_schema(con)
            lake.reconcile(con, echo=progress.detail)
            con.execute("INSERT INTO audit.runs VALUES (?, ?, NULL, ?)", [run_id, _utcnow(), len(found)])
            _scratch_settings(con, tmp)
            con.execute("ATTACH ':memory:' AS runctx")
            run = _Run(con, roots, run_id, tmp, out=out, received_at=received_at)
            run.verdicts = verdicts
            step = stack.enter_context(progress.step("ingest", total=len(found), unit="files"))
            by_feed: dict[str, list[Path]] = defaultdict(list)
            unknown = []
            for f in sorted(found, key=lambda f: str(f.path)):
                if f.feed is None:
                    o = run.new_outcome(f.path, None)
                    o.received_at = run.arrival(o.path)
                    o.sha256, _ = archive_file(f.path)
                    o.reasons = f.reason or "cannot tell which feed this file belongs to"
                    unknown.append(o)
                else:
                    by_feed[f.feed].append(f.path)
            for feed in load_contract().load_order():
                if by_feed.get(feed):
                    outcomes += run.run_feed(feed, sorted(by_feed[feed], key=str))
            if unknown:
                record_outcomes(con, unknown)
                for o in unknown:
                    run.verdict(o)
                    step.advance()
                outcomes += unknown
            con.execute("DETACH runctx")
            con.execute("UPDATE audit.runs SET finished_at = ? WHERE run_id = ?", [_utcnow(), run_id])
            lake.reconcile(con)
            step.note("checkpoint")
            con.execute("CHECKPOINT")
            stack.close()  # the ingest bar ends here; publishing (on leaving `writer`) has its own
    except BaseException:
        stack.__exit__(*sys.exc_info())  # the bar ends as failed
        raise
    finally:
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)
    progress.echo(summary_line(outcomes, time.monotonic() - t0), file=out)
    return RunResult(run_id=run_id, outcomes=outcomes)
