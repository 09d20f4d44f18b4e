"""The lake: the current rows of every raw table as Parquet, for engines other than DuckDB.

Layout (docs/architecture.md "The lake"), under MEDCOM_LAKE or MEDCOM_HOME/lake:

    raw/<feed>/part-<run>.parquet                                   reference feeds
    raw/<feed>/part_<org>=<code>/part_month=<YYYY-MM>/part-<run>.parquet  monthly activity feeds
    raw/<feed>/part_<org>=<code>/part_year=<YYYY>/part-<run>.parquet      yearly activity feeds
    raw/<feed>/part_year=<YYYY>/part-<run>.parquet                  phs_weights
    build/<schema>/<model>/                                         the last Spark build's tables

A partition is one coverage key (feeds.md: the unit ingest replaces), `<org>` its kind
(county, community, region). Each partition holds exactly one file, its current rows.

Consistency with the warehouse: the list of lake files (`audit.lake_files`) is part of the
warehouse and changes in the ingest's own transaction. Before COMMIT the new partition files
are written under `.staging/` (hidden from Parquet readers); after COMMIT they are moved into
place and the replaced files deleted. A kill before COMMIT leaves both as they were (the
staged files are orphans); a kill after it leaves `audit.lake_files` naming files that may not
be in place yet, and `reconcile()` — run at the start of every ingest and Spark build, under
the writer lock — re-exports those partitions from the warehouse and deletes files the list
does not name. Spark builds therefore always read exactly the warehouse's current rows.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from medcom.contract import load_contract
from medcom.settings import paths

STAGING = ".staging"
EMPTY = "part-empty.parquet"


def root() -> Path:
    """MEDCOM_LAKE, else MEDCOM_HOME/lake."""
    env = os.environ.get("MEDCOM_LAKE")
    return Path(env).expanduser().resolve() if env else paths().home / "lake"


def raw_dir(feed: str | None = None) -> Path:
    base = root() / "raw"
    return base / feed if feed else base


def build_dir() -> Path:
    return root() / "build"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(
        "CREATE TABLE IF NOT EXISTS audit.lake_files (feed VARCHAR NOT NULL, part_path VARCHAR NOT NULL, "
        "file VARCHAR NOT NULL, n_rows BIGINT NOT NULL, run_id VARCHAR, PRIMARY KEY (feed, part_path))"
    )


def _lit(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


_ORG_KIND = {
    "township_county_year": "county",
    "insured_county_month": "county",
    "facility_county_month": "county",
    "community_year": "community",
    "community_month": "community",
    "facility_county_planned_month": "county",
    "facility_county_decided_month": "county",
    "county_received_month": "county",
    "county_year": "county",
    "region_year": "region",
}


def _part_cols(feed: str) -> list[tuple[str, str]]:
    """(folder column, SQL over raw.<feed>) of the feed's partition levels; [] for reference feeds."""
    spec = load_contract().feeds[feed]
    if spec.is_reference or not spec.coverage:
        return []
    period = "part_year" if spec.coverage.endswith("year") else "part_month"
    if spec.coverage == "year":  # phs_weights: key = YYYY
        return [(period, "_coverage_key")]
    # url_encode keeps any code safe as a folder name (Spark unescapes %XX in partition values)
    return [
        (f"part_{_ORG_KIND[spec.coverage]}", "url_encode(split_part(_coverage_key, ':', 1))"),
        (period, "split_part(_coverage_key, ':', 2)"),
    ]


def part_path_sql(feed: str) -> str:
    """SQL expression (over raw.<feed>) giving a row's partition folder ('' for reference feeds)."""
    cols = _part_cols(feed)
    if not cols:
        return "''"
    return " || '/' || ".join(f"'{name}=' || {expr}" for name, expr in cols)


@dataclass
class Staged:
    feed: str
    moves: list[tuple[Path, Path]]  # staged file → final path
    partitions: list[str]  # partition folders this transaction rewrote (or emptied)
    stage: Path | None = None  # this feed's staging folder


def _current_rows(feed: str, where: str = "") -> str:
    cond = f" AND ({where})" if where else ""
    return f"SELECT * FROM raw.{feed} WHERE _superseded_by IS NULL{cond}"


def _export_partitions(con, feed: str, parts: list[str], dest: Path, run_id: str) -> dict[str, tuple[str, int]]:
    """Write the current rows of the partitions `parts` of `feed` under dest/<part>/ in one pass
    over the table (one file per partition). Returns {part: (file name, rows)} for the
    partitions that have rows."""
    cols = _part_cols(feed)
    dest.mkdir(parents=True, exist_ok=True)
    if not cols:  # reference feed: one file
        file = f"part-{run_id}.parquet"
        con.execute(
            f"COPY ({_current_rows(feed)} ORDER BY _batch_id, _row_number) TO {_lit(dest / file)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        n = con.execute(f"SELECT count(*) FROM read_parquet({_lit(dest / file)})").fetchone()[0]
        return {"": (file, int(n))} if n else {}
    pp = part_path_sql(feed)
    extra = ", ".join(f"{expr} AS {name}" for name, expr in cols)
    names = ", ".join(name for name, _ in cols)
    # A partitioned COPY keeps at most `partitioned_write_max_open_files` files open and starts a
    # second file for a partition it had to close: write the partitions in groups that fit, so
    # each partition is exactly one file.
    group = max(1, int(con.execute("SELECT current_setting('partitioned_write_max_open_files')").fetchone()[0]) - 1)
    ordered = sorted(set(parts))
    for start in range(0, len(ordered), group):
        con.execute("CREATE OR REPLACE TEMP TABLE _lake_parts (p VARCHAR)")
        con.executemany("INSERT INTO _lake_parts VALUES (?)", [[p] for p in ordered[start : start + group]])
        con.execute(
            f"COPY (SELECT *, {extra} FROM raw.{feed} WHERE _superseded_by IS NULL "
            f"AND {pp} IN (SELECT p FROM _lake_parts) ORDER BY _batch_id, _row_number) TO {_lit(dest)} "
            f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({names}), "
            f"FILENAME_PATTERN {_lit(f'part-{run_id}-{start}-' + '{i}')}, OVERWRITE_OR_IGNORE true)"
        )
    # the rows each partition file holds: the same query's rows, counted once per feed (not
    # one Parquet read per file: a many-file run touches hundreds of partitions)
    con.execute("CREATE OR REPLACE TEMP TABLE _lake_parts (p VARCHAR)")
    con.executemany("INSERT INTO _lake_parts VALUES (?)", [[p] for p in ordered])
    counts = dict(
        con.execute(
            f"SELECT {pp}, count(*) FROM raw.{feed} WHERE _superseded_by IS NULL "
            f"AND {pp} IN (SELECT p FROM _lake_parts) GROUP BY 1"
        ).fetchall()
    )
    con.execute("DROP TABLE IF EXISTS _lake_parts")
    out: dict[str, tuple[str, int]] = {}
    wanted = set(parts)
    for f in dest.rglob(f"part-{run_id}-*.parquet"):
        part = f.parent.relative_to(dest).as_posix()
        if part not in wanted:
            continue
        if part in out:
            raise RuntimeError(f"lake: more than one file written for {feed}/{part}")
        out[part] = (f.name, int(counts.get(part, 0)))
    return out


def _list_files(con, feed: str, written: dict[str, tuple[str, int]], run_id: str) -> None:
    """Rows of audit.lake_files for the written partitions, in one statement."""
    if not written:
        return
    rows = pa.table(
        {
            "feed": [feed] * len(written),
            "part_path": list(written),
            "file": [f for f, _ in written.values()],
            "n_rows": pa.array([n for _, n in written.values()], pa.int64()),
            "run_id": [run_id] * len(written),
        }
    )
    con.register("_lake_files_new", rows)
    try:
        con.execute("INSERT INTO audit.lake_files SELECT * FROM _lake_files_new")
    finally:
        con.unregister("_lake_files_new")


def _write_empty(con, feed: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({_current_rows(feed, 'false')}) TO {_lit(folder / EMPTY)} (FORMAT parquet)")


def stage_feed(con: duckdb.DuckDBPyConnection, feed: str, run_id: str) -> Staged:
    """Inside the ingest's transaction on raw.<feed>: write the partitions it changed to the
    staging area and record them in audit.lake_files (same transaction). Call `promote` after COMMIT."""
    pp = part_path_sql(feed)
    changed = [
        r[0]
        for r in con.execute(
            f"""SELECT DISTINCT {pp} FROM raw.{feed}
            WHERE _run_id = ? OR _superseded_by IN (SELECT DISTINCT _batch_id FROM raw.{feed} WHERE _run_id = ?)""",
            [run_id, run_id],
        ).fetchall()
    ]
    staged = Staged(feed, [], changed)
    if not changed:
        return staged
    stage = staged.stage = root() / STAGING / run_id / feed
    written = _export_partitions(con, feed, changed, stage, run_id)
    con.execute("CREATE OR REPLACE TEMP TABLE _lake_parts (p VARCHAR)")
    con.executemany("INSERT INTO _lake_parts VALUES (?)", [[p] for p in changed])
    con.execute("DELETE FROM audit.lake_files WHERE feed = ? AND part_path IN (SELECT p FROM _lake_parts)", [feed])
    con.execute("DROP TABLE _lake_parts")
    final = raw_dir(feed)
    _list_files(con, feed, written, run_id)
    for part, (file, _n) in written.items():
        src = (stage / part / file) if part else (stage / file)
        dst = (final / part / file) if part else (final / file)
        staged.moves.append((src, dst))
    return staged


def promote(staged: Staged) -> None:
    """After COMMIT: move the staged files into place and delete what they replace."""
    for src, dst in staged.moves:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
    final = raw_dir(staged.feed)
    keep = {dst for _, dst in staged.moves}
    for part in staged.partitions:
        folder = final / part if part else final
        if not folder.is_dir():
            continue
        for f in folder.iterdir():
            if f.is_file() and f not in keep:
                f.unlink(missing_ok=True)
        _remove_empty_dirs(folder, stop=final)
    if staged.moves:
        (final / EMPTY).unlink(missing_ok=True)
    if staged.stage is not None:
        shutil.rmtree(staged.stage, ignore_errors=True)
        _remove_empty_dirs(staged.stage.parent, stop=root())


def _remove_empty_dirs(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def reconcile(con: duckdb.DuckDBPyConnection, echo=None) -> int:
    """Make the lake exactly what audit.lake_files names, re-exporting from the warehouse what is
    missing (and listing feeds loaded before the lake existed). Returns the partitions written."""
    ensure_schema(con)
    shutil.rmtree(root() / STAGING, ignore_errors=True)
    written = 0
    for feed in load_contract().feeds:
        listed = dict(con.execute("SELECT part_path, file FROM audit.lake_files WHERE feed = ?", [feed]).fetchall())
        n_listed = con.execute(
            "SELECT coalesce(sum(n_rows), 0) FROM audit.lake_files WHERE feed = ?", [feed]
        ).fetchone()[0]
        n_current = con.execute(f"SELECT count(*) FROM raw.{feed} WHERE _superseded_by IS NULL").fetchone()[0]
        final = raw_dir(feed)
        if n_listed != n_current:  # never synced (warehouse older than the lake) or lake list lost: rebuild
            pp = part_path_sql(feed)
            parts = [
                r[0]
                for r in con.execute(f"SELECT DISTINCT {pp} FROM raw.{feed} WHERE _superseded_by IS NULL").fetchall()
            ]
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("DELETE FROM audit.lake_files WHERE feed = ?", [feed])
                shutil.rmtree(final, ignore_errors=True)
                out = _export_partitions(con, feed, parts, final, "sync")
                _list_files(con, feed, out, "sync")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            written += len(out)
            listed = {p: f for p, (f, _) in out.items()}
        else:
            missing = [p for p, f in listed.items() if not ((final / p / f) if p else (final / f)).exists()]
            if missing:
                scratch = root() / STAGING / "repair" / feed
                out = _export_partitions(con, feed, missing, scratch, "repair")
                for part, (file, _) in out.items():
                    dst = (final / part / listed[part]) if part else (final / listed[part])
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.replace((scratch / part / file) if part else (scratch / file), dst)
                shutil.rmtree(root() / STAGING, ignore_errors=True)
                written += len(out)
        # delete every file the list does not name
        keep = {((final / p / f) if p else (final / f)) for p, f in listed.items()}
        if final.is_dir():
            for f in sorted(final.rglob("*"), reverse=True):
                if f.is_file() and f not in keep and not (f.name == EMPTY and not listed):
                    f.unlink()
                elif f.is_dir() and not any(f.iterdir()):
                    f.rmdir()
        if not listed and not (final / EMPTY).exists():
            _write_empty(con, feed, final)
    if written and echo:
        echo(f"lake: wrote {written} partition file(s) under {raw_dir()}")
    return written
