"""Checks for command-line options: every value is checked before any work starts.

A bad value stops the command with one plain line and exit code 2, e.g.
`medcom serve: invalid value for '--port': must be a port number from 1 to 65535, not 99999`.
(`medcom.cli.main` prints click's usage errors that way; no rich box, no traceback.)

Use the checks as Typer callbacks, or the ready-made `Annotated` types, in a new command:

    from typing import Annotated
    import typer
    from medcom import cli_options as opt

    @app.command()
    def report(
        month: Annotated[str, typer.Argument(callback=opt.month, help="YYYY-MM")],
        out: Annotated[Path, typer.Option(callback=opt.writable_file, help="PDF to write.")],
        lang: opt.Lang = None,                         # zh | en, default from the locale
        fmt: Annotated[str, typer.Option("--format", callback=opt.choice("table", "json"))] = "table",
        county: Annotated[str | None, typer.Option(callback=opt.county_code)] = None,
        verbose: opt.Verbose = False,                   # per-command --verbose (detail lines on screen)
    ) -> None: ...

Every callback accepts None (an option left out) and returns the value, possibly normalised
(paths are expanded, months zero-padded). Checks that need the warehouse (e.g. "is this county
in the registry") belong in the command and raise `medcom.errors.UsageError`, which also exits 2.
"""

from __future__ import annotations

import locale
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

MONTH_RE = re.compile(r"(\d{4})-(\d{1,2})")


def _bad(msg: str) -> typer.BadParameter:
    return typer.BadParameter(msg)


# ---------------------------------------------------------------------------- numbers
def port(value: int | None) -> int | None:
    """A TCP port, 1–65535."""
    if value is not None and not 1 <= int(value) <= 65535:
        raise _bad(f"must be a port number from 1 to 65535, not {value}")
    return value


def at_least(low: float, what: str = "") -> Callable:
    """Callback factory: the value must be ≥ low (`at_least(1)` for counts)."""

    def check(value):
        if value is not None and not value >= low:
            raise _bad(f"must be {what or 'at least'} {low:g}, not {value}".replace("  ", " "))
        return value

    return check


def between(low: float, high: float) -> Callable:
    """Callback factory: low ≤ value ≤ high."""

    def check(value):
        if value is not None and not low <= value <= high:
            raise _bad(f"must be from {low:g} to {high:g}, not {value}")
        return value

    return check


def positive(value: float | None) -> float | None:
    """A number greater than 0 (scales, time limits)."""
    if value is not None and not value > 0:
        raise _bad(f"must be greater than 0, not {value}")
    return value


# ---------------------------------------------------------------------------- text
def month(value: str | None) -> str | None:
    """A month YYYY-MM (2000-01 … 2099-12); returned zero-padded."""
    if value is None:
        return None
    m = MONTH_RE.fullmatch(str(value).strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2099:
        raise _bad(f"must be a month written YYYY-MM (e.g. 2024-06), not {value!r}")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def county_code(value: str | None) -> str | None:
    """A six-digit administrative division code (county or city)."""
    if value is not None and not re.fullmatch(r"\d{6}", str(value)):
        raise _bad(f"must be a six-digit division code (e.g. 411023), not {value!r}")
    return value


def choice(*values: str) -> Callable:
    """Callback factory: the value must be one of `values` (e.g. --format)."""

    def check(value):
        if value is not None and value not in values:
            raise _bad(f"must be one of {', '.join(values)}, not {value!r}")
        return value

    return check


def host(value: str | None) -> str | None:
    """An address to listen on that resolves on this machine (127.0.0.1, 0.0.0.0, a host name)."""
    if value is None:
        return None
    try:
        socket.getaddrinfo(value, None)
    except (socket.gaierror, UnicodeError) as exc:
        raise _bad(f"{value!r} is not an address of this machine ({exc})") from exc
    return value


def port_free(host_: str, port_: int) -> str | None:
    """None when `port_` can be listened on at `host_`, else the reason in plain words."""
    try:
        infos = socket.getaddrinfo(host_, port_, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"{host_!r} is not an address of this machine ({exc})"
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except PermissionError:
            return f"port {port_} needs administrator rights; use a port above 1023"
        except OSError as exc:
            if exc.errno in (98, 48):  # EADDRINUSE (Linux, macOS)
                return f"port {port_} on {host_} is already in use; pick another with --port"
            return f"cannot listen on {host_}:{port_} ({exc.strerror or exc})"
    return None


# ---------------------------------------------------------------------------- paths
def existing_path(value: Path | None) -> Path | None:
    """A file or folder that must exist."""
    if value is None:
        return None
    p = Path(value).expanduser()
    if not p.exists():
        raise _bad(f"no such file or folder: {value}")
    return p


def existing_paths(values: list[Path] | None) -> list[Path] | None:
    """Each of several files or folders must exist (all missing ones are named)."""
    if values is None:
        return None
    missing = [str(v) for v in values if not Path(v).expanduser().exists()]
    if missing:
        raise _bad(f"no such file or folder: {', '.join(missing)}")
    return [Path(v).expanduser() for v in values]


def _nearest_existing(p: Path) -> Path:
    q = p.absolute()
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def writable_dir(value: Path | None) -> Path | None:
    """A folder to write into: it exists and is writable, or can be created (not created here)."""
    if value is None:
        return None
    p = Path(value).expanduser()
    if p.exists() and not p.is_dir():
        raise _bad(f"{value} is a file, not a folder")
    base = _nearest_existing(p)
    if not base.is_dir():
        raise _bad(f"cannot create {value}: {base} is a file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise _bad(f"cannot write to {value}: {base} is not writable")
    return p


def writable_file(value: Path | None) -> Path | None:
    """A file to write: not a folder, and its folder exists-or-can-be-created and is writable."""
    if value is None:
        return None
    p = Path(value).expanduser()
    if p.is_dir():
        raise _bad(f"{value} is a folder; give a file name")
    if p.exists() and not os.access(p, os.W_OK):
        raise _bad(f"cannot overwrite {value}: not writable")
    writable_dir(p.parent)
    return p


# ---------------------------------------------------------------------------- language
def default_lang() -> str:
    """zh when the locale is Chinese (LC_ALL, LC_MESSAGES, LANG, LANGUAGE), else en."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        v = os.environ.get(var)
        if v:
            return "zh" if v.lower().startswith("zh") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "zh" if loc.lower().startswith("zh") else "en"


def lang(value: str | None) -> str:
    """zh | en (also zh_CN, zh-CN, en_US …); None → the locale's language."""
    if value is None:
        return default_lang()
    v = value.strip().lower().replace("-", "_")
    if v in ("zh", "zh_cn", "zh_hans", "cn", "中文"):
        return "zh"
    if v in ("en", "en_us", "en_gb", "english"):
        return "en"
    raise _bad(f"must be zh or en, not {value!r}")


def _set_verbose(value: bool) -> bool:
    if value:
        from medcom import progress

        progress.set_verbose(True)
    return value


# ---------------------------------------------------------------------------- ready-made options
Port = Annotated[int, typer.Option(callback=port, help="Port, 1–65535.")]
Host = Annotated[str, typer.Option(callback=host, help="Address to listen on.")]
Lang = Annotated[str | None, typer.Option("--lang", callback=lang, help="zh | en (default: from the locale, LANG).")]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", callback=_set_verbose, help="Show detail lines (also in MEDCOM_HOME/logs)."),
]
