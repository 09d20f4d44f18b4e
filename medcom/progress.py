"""Progress of long steps: one live bar on a terminal, plain periodic lines elsewhere, a log file.

Every long step of a command (generate, ingest, build, publish, …) runs inside `step()`:

    from medcom import progress

    with progress.step("close", total=len(months), unit="months") as s:
        for m in months:
            ...
            s.advance(detail=f"closed {m}")   # detail: log file always, screen only with --verbose
        s.note("writing the PDF")             # what is happening right now (shown beside the bar)
    progress.result(f"closed {len(months)} month(s)")  # the one-line summary (stdout + log)
    progress.hint("medcom report 2024-06 --out bulletin.pdf")  # "next:" hint (stderr)

- On a terminal (stderr is a TTY): one rich bar per step on stderr — name, bar, done/total
  and unit, elapsed time, current note. Steps may nest (ingest → publish): each gets its row.
- Not a terminal (CI, pipes, `2>file`): a plain line when the step starts, one every
  `MEDCOM_PROGRESS_INTERVAL` seconds (default 10) while it runs, and one when it ends.
- Detail lines (`advance(detail=…)`, `detail(…)`) go to the command's log file,
  `MEDCOM_HOME/logs/<command>-<UTC time>.log` (`log_path()`), and to stderr only when
  verbose (`medcom --verbose …` or the command's own `--verbose`, see `cli_options.Verbose`).
- `echo(line)` prints a line the user must see (e.g. ingest's verdict per file) on stdout,
  above the bar when stdout is the same terminal, and logs it.

`total` may be unknown at the start (None) and set later (`s.total = n`); with unit
"bytes" counts are shown as sizes. Nothing here changes what a step computes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

INTERVAL_ENV = "MEDCOM_PROGRESS_INTERVAL"
KEEP_LOGS = 50  # log files kept per command

_state: dict = {"verbose": False, "command": None, "log": None, "log_path": None}
_lock = threading.RLock()
_live: dict = {"progress": None, "steps": [], "ticker": None}


# ---------------------------------------------------------------------------- settings
def set_verbose(on: bool = True) -> None:
    """Show detail lines on screen too (the CLI's --verbose)."""
    _state["verbose"] = bool(on) or _state["verbose"]


def verbose() -> bool:
    return bool(_state["verbose"])


def set_command(name: str) -> None:
    """Name the log file after the command being run (the CLI does this once per invocation)."""
    _state["command"] = name


def interval() -> float:
    try:
        return max(0.2, float(os.environ.get(INTERVAL_ENV, "10")))
    except ValueError:
        return 10.0


def on_terminal() -> bool:
    """Whether the live bar is used: stderr is a terminal and TERM is not 'dumb'."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


# ---------------------------------------------------------------------------- log file
def log_path() -> Path | None:
    """The log file of this command run (None until something was logged)."""
    return _state["log_path"]


def _log_file():
    if _state["log"] is not None:
        return _state["log"]
    from medcom.settings import paths

    try:
        folder = paths().logs
        folder.mkdir(parents=True, exist_ok=True)
        name = _state["command"] or "medcom"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        path = folder / f"{name}-{stamp}-{os.getpid()}.log"
        _state["log"] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - kept open for the run
        _state["log_path"] = path
        _prune_logs(folder, name)
    except OSError:  # an unwritable MEDCOM_HOME must not break the command's own message
        _state["log"] = False
    return _state["log"]


def _prune_logs(folder: Path, name: str) -> None:
    logs = sorted(folder.glob(f"{name}-*.log"))
    for old in logs[: max(0, len(logs) - KEEP_LOGS)]:
        with contextlib.suppress(OSError):
            old.unlink()


def log(line: str) -> None:
    """Append one timestamped line to the command's log file."""
    fh = _log_file()
    if fh:
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        with _lock, contextlib.suppress(OSError):
            fh.write(f"{stamp} {line}\n")


def close_log() -> None:
    fh = _state["log"]
    if fh:
        with contextlib.suppress(OSError):
            fh.close()
    _state["log"] = None


# ---------------------------------------------------------------------------- output
def _console():
    prog = _live["progress"]
    return prog.console if prog is not None else None


def _print(line: str, err: bool) -> None:
    stream = sys.stderr if err else sys.stdout
    console = _console()
    same_terminal = console is not None and (err or _isatty(sys.stdout))
    with _lock:
        if same_terminal:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=stream, flush=True)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def echo(line: str, err: bool = False, file=None) -> None:
    """A line the user must see (stdout, stderr with err=True, or `file`); also logged."""
    log(line)
    if file is not None:
        with _lock:
            print(line, file=file, flush=True)
    else:
        _print(line, err)


def detail(line: str) -> None:
    """A detail line: always in the log file, on stderr only when verbose."""
    log(line)
    if verbose():
        _print(line, err=True)


_detail = detail


def result(line: str) -> None:
    """The one-line summary of a command (stdout), also logged."""
    echo(line)


def hint(command: str) -> None:
    """A short 'next step' hint on stderr (not on stdout, which scripts may parse)."""
    log(f"next: {command}")
    _print(f"next: {command}", err=True)


def log_note() -> None:
    """Tell where the details went (stderr), when something was logged and not shown."""
    p = log_path()
    if p is not None and not verbose():
        _print(f"details: {p}", err=True)


# ---------------------------------------------------------------------------- steps
def _fmt_count(n: float, unit: str) -> str:
    if unit == "bytes":
        for u in ("B", "KB", "MB", "GB", "TB"):
            if n < 1024 or u == "TB":
                return f"{n:.0f} {u}" if u == "B" else f"{n:.1f} {u}"
            n /= 1024
    return f"{int(n):,}"


def _fmt_time(secs: float) -> str:
    secs = int(secs)
    return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


class Step:
    """One long step; create it with `step()`."""

    def __init__(self, name: str, total: float | None, unit: str) -> None:
        self.name = name
        self.unit = unit
        self.done = 0.0
        self._total = total
        self.current = ""
        self.t0 = time.monotonic()
        self.task = None
        self.failed = False

    # -- what callers use
    @property
    def total(self) -> float | None:
        return self._total

    @total.setter
    def total(self, value: float | None) -> None:
        self._total = value
        self._update()

    def advance(self, n: float = 1, detail: str | None = None) -> None:
        """n more units done; `detail` goes to the log (and the screen when verbose)."""
        self.done += n
        if detail:
            _detail(f"{self.name}: {detail}")
        self._update()

    def detail(self, line: str) -> None:
        _detail(f"{self.name}: {line}")

    def note(self, text: str) -> None:
        """What is happening right now (beside the bar; in the next plain line)."""
        self.current = text
        self._update()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    # -- rendering
    def counts(self) -> str:
        done = _fmt_count(self.done, self.unit)
        unit = "" if self.unit == "bytes" else f" {self.unit}" if self.unit else ""
        if self._total is None:
            return f"{done}{unit}"
        return f"{done}/{_fmt_count(self._total, self.unit)}{unit}"

    def plain_line(self, final: bool = False) -> str:
        parts = [f"{self.name}: {self.counts()}", _fmt_time(self.elapsed)]
        if final:
            parts.append("failed" if self.failed else "done")
        elif self.current:
            parts.append(self.current)
        return " · ".join(parts)

    def _update(self) -> None:
        prog = _live["progress"]
        if prog is not None and self.task is not None:
            with _lock:
                prog.update(
                    self.task,
                    completed=self.done,
                    total=self._total,
                    counts=self.counts(),
                    note=self.current[:60],
                )


def _new_progress():
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=30),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}", markup=False),
        console=console,
        transient=False,
        redirect_stdout=_isatty(sys.stdout),
        redirect_stderr=True,
        refresh_per_second=8,
    )


def _ticker(stop: threading.Event) -> None:
    every = interval()
    while not stop.wait(every):
        with _lock:
            steps = list(_live["steps"])
        for s in steps:
            print(s.plain_line(), file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(name: str, total: float | None = None, unit: str = "") -> Iterator[Step]:
    """Run a long step with progress (see the module docstring)."""
    s = Step(name, total, unit)
    bar = on_terminal()
    log(f"{name}: started" + (f" ({_fmt_count(total, unit)} {unit})" if total is not None else ""))
    with _lock:
        first = not _live["steps"]
        _live["steps"].append(s)
        if bar:
            if _live["progress"] is None:
                _live["progress"] = _new_progress()
                _live["progress"].start()
            s.task = _live["progress"].add_task(name, total=total, counts=s.counts(), note="")
        else:  # plain lines: every interval while it runs (a short step shows only its last line)
            if first:
                stop = threading.Event()
                thread = threading.Thread(target=_ticker, args=(stop,), daemon=True)
                thread.start()
                _live["ticker"] = (stop, thread)
    try:
        yield s
    except BaseException:
        s.failed = True
        raise
    finally:
        s.current = ""
        if not s.failed and (s._total is None or s.done > s._total):
            s._total = s.done
        s._update()
        with _lock:
            _live["steps"].remove(s)
            last = not _live["steps"]
            prog = _live["progress"]
            if prog is not None and last:
                prog.stop()
                _live["progress"] = None
            ticker = _live["ticker"] if last else None
            if last:
                _live["ticker"] = None
        if ticker is not None:
            ticker[0].set()
            ticker[1].join(timeout=2)
        if not bar:
            print(s.plain_line(final=True), file=sys.stderr, flush=True)
        log(s.plain_line(final=True))


def current() -> Step | None:
    """The innermost running step (None outside any step)."""
    with _lock:
        return _live["steps"][-1] if _live["steps"] else None


def note(text: str) -> None:
    """Set the current step's note, or print `text` as a detail line outside any step."""
    s = current()
    if s is not None:
        s.note(text)
    else:
        detail(text)
