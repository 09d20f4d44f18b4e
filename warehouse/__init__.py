"""The DuckDB warehouse: one writer at a time, many readers on a published snapshot.

DuckDB allows one writer process or many read-only ones, never both. Ingest and build
write `MEDCOM_HOME/warehouse.duckdb` under an fcntl lock; when they finish they publish a
byte copy of it as a new snapshot and atomically repoint `published/CURRENT`. Readers (the
dashboard, `medcom sql`, analysts' DuckDB clients) only ever open the snapshot read-only,
so they keep serving while ingest and build run, and see the new data on their next query.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from medcom.errors import MedcomError, WarehouseBusy
from medcom.settings import paths

SNAPSHOT_PREFIX = "warehouse-"
KEEP_SNAPSHOTS = 3

# Settings every reader connection gets: no files, no extensions, settings frozen.
READER_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
    # DuckDB shares one database instance per file and process and refuses a second
    # connection with other settings, so every reader (dashboard pages, SQL sandbox) uses these.
    "threads": 2,
}


@contextlib.contextmanager
def writer_lock() -> Iterator[None]:
    """Hold the single-writer lock (ingest and build); fail fast with a plain message."""
    p = paths().ensure()
    fh = open(p.lock, "a+")  # noqa: SIM115 - held for the duration of the context
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WarehouseBusy(
                "another `medcom ingest` or `medcom build` is writing the warehouse; try again when it has finished"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
        with contextlib.suppress(OSError):  # no pid in the file: no writer (`medcom status`)
            fh.seek(0)
            fh.truncate()
            fh.flush()
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def open_writer() -> duckdb.DuckDBPyConnection:
    """Read-write connection to the warehouse file (caller must hold `writer_lock`)."""
    p = paths().ensure()
    return duckdb.connect(str(p.warehouse))


@contextlib.contextmanager
def writer(publish_after: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Writer lock + read-write connection; closes the connection (checkpoint) on exit."""
    with writer_lock():
        con = open_writer()
        try:
            yield con
        finally:
            con.close()
        if publish_after:
            publish()


def publish() -> Path:
    """Copy the (closed) writer file to a new snapshot and repoint CURRENT atomically.

    Call with the writer lock held and no open writer connection in this process.
    """
    p = paths().ensure()
    if not p.warehouse.exists():
        raise MedcomError("nothing to publish: the warehouse is empty (run `medcom ingest` first)")
    wal = p.warehouse.with_name(p.warehouse.name + ".wal")
    if wal.exists():  # an unclean stop left a WAL: fold it in before copying
        duckdb.connect(str(p.warehouse)).close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    # One folder per snapshot, the file always named warehouse.duckdb: DuckDB names the
    # catalog after the file, so analysts see the same `warehouse` catalog in every snapshot.
    folder = p.published / f"{SNAPSHOT_PREFIX}{stamp}"
    staging = p.published / f".{SNAPSHOT_PREFIX}{stamp}.partial"
    staging.mkdir(parents=True, exist_ok=True)
    _copy_with_progress(p.warehouse, staging / "warehouse.duckdb")
    _publish_scoped(staging)
    os.replace(staging, folder)
    target = folder / "warehouse.duckdb"
    pointer_tmp = p.published / "CURRENT.tmp"
    pointer_tmp.write_text(f"{folder.name}/warehouse.duckdb\n", encoding="utf-8")
    os.replace(pointer_tmp, p.published / "CURRENT")
    _prune(p.published, keep=folder.name)
    return target


def _copy_with_progress(src: Path, dst: Path, chunk: int = 64 << 20) -> None:
    """Byte copy as the `publish` step of medcom.progress (sendfile in chunks; read/write elsewhere)."""
    from medcom import progress

    size = src.stat().st_size
    with progress.step("publish", total=size, unit="bytes") as step, open(src, "rb") as fi, open(dst, "wb") as fo:
        offset = 0
        use_sendfile = hasattr(os, "sendfile")
        while offset < size:
            if use_sendfile:
                try:
                    sent = os.sendfile(fo.fileno(), fi.fileno(), offset, min(chunk, size - offset))
                except OSError:
                    use_sendfile = False
                    fi.seek(offset)
                    continue
            else:
                data = fi.read(min(chunk, size - offset))
                fo.write(data)
                sent = len(data)
            if sent == 0:
                break
            offset += sent
            step.advance(sent)
    if offset != size:
        raise OSError(f"copy of {src} stopped at {offset} of {size} bytes")


def _publish_scoped(staging: Path) -> None:
    """Each county's (and each scoped user's) copy beside the full snapshot (`medcom.access.snapshots`); a failure
    here publishes the full snapshot anyway — the copy is then made on first use."""
    import logging

    from medcom.access.snapshots import publish_scoped

    try:
        publish_scoped(staging)
    except Exception:  # noqa: BLE001 - never lose a build over a derived copy
        logging.getLogger("medcom.publish").exception("scoped snapshots not written (made on first use)")


def _prune(folder: Path, keep: str) -> None:
    snaps = sorted(x for x in folder.glob(f"{SNAPSHOT_PREFIX}*") if x.name != keep)
    for old in snaps[: max(0, len(snaps) - (KEEP_SNAPSHOTS - 1))]:
        # readers that still have an old snapshot open keep their file handle
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    for partial in folder.glob(".*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def current_snapshot() -> Path | None:
    """The published snapshot readers should use, or None before the first publish."""
    p = paths()
    pointer = p.published / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    snap = p.published / name
    return snap if snap.exists() else None


def reader_config() -> dict:
    """READER_CONFIG plus the per-home limits: memory (MEDCOM_READER_MEMORY, default 4GB) and a
    spill folder under MEDCOM_HOME, so a heavy analyst query neither exhausts the server nor writes
    outside MEDCOM_HOME."""
    spill = paths().tmp / "readers"
    spill.mkdir(parents=True, exist_ok=True)
    return {
        **READER_CONFIG,
        "memory_limit": os.environ.get("MEDCOM_READER_MEMORY", "4GB"),
        "temp_directory": str(spill),
    }


def connect_reader() -> duckdb.DuckDBPyConnection:
    """Read-only connection to the current snapshot (open one per request), reader_config() settings."""
    snap = current_snapshot()
    if snap is None:
        raise MedcomError("no published warehouse yet: run `medcom ingest` and `medcom build` first")
    return duckdb.connect(str(snap), read_only=True, config=reader_config())
