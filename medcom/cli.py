"""The `medcom` command line: generate, ingest, build, serve, sql, status, docs, demo.

Options are checked up front with `medcom.cli_options` (a bad value: one plain line, exit 2);
long steps show progress through `medcom.progress` (bar on a terminal, plain lines otherwise,
details in MEDCOM_HOME/logs).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

try:  # typer ≥ 0.26 carries its own copy of click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as click_exc

from medcom import cli_options as opt
from medcom import progress
from medcom.errors import MedcomError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="medcom — performance analytics for county medical communities (医共体).",
    pretty_exceptions_enable=False,
)

_state = {"verbose": False}

from medcom.access.cli import app as _users_app  # noqa: E402

app.add_typer(_users_app, name="users")


def _version(value: bool) -> None:
    if value:
        from medcom import version_line

        print(version_line())
        raise typer.Exit(0)


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show detail lines and error details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["verbose"] = verbose
    progress.set_verbose(verbose)
    if ctx.invoked_subcommand:
        progress.set_command(ctx.invoked_subcommand)


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(callback=opt.writable_dir, help="Inbox folder to write the feeds into.")],
    start: Annotated[str, typer.Option(callback=opt.month, help="First month, YYYY-MM.")] = "2020-01",
    months: Annotated[int, typer.Option(callback=opt.between(1, 240), help="Number of months.")] = 24,
    scale: Annotated[
        float, typer.Option(callback=opt.between(0.0001, 10), help="1.0 = reference city (~2M encounters a month).")
    ] = 0.05,
    seed: Annotated[int, typer.Option(callback=opt.at_least(0), help="Random seed (deterministic for a seed).")] = 42,
    bad_corpus: Annotated[
        bool, typer.Option("--bad-corpus", help="Write the bad-input corpus (for tests) instead of the city.")
    ] = False,
    cities: Annotated[
        int, typer.Option(help="1 = the city of Xuchang; N > 1 = a province (河南省) of N prefectures, Xuchang first.")
    ] = 1,
    verbose: opt.Verbose = False,
    calendar: Annotated[
        bool, typer.Option("--calendar", help="Also write deliveries.json: arrival dates, a missing month, an outlier.")
    ] = False,
) -> None:
    """Write synthetic feeds for the default city (Xuchang), or a province, in the inbox layout."""
    from medcom.generate import generate as run_generate

    summary = run_generate(
        out, start=start, months=months, scale=scale, seed=seed, bad_corpus=bad_corpus, cities=cities
    )
    if calendar:
        from medcom.generate.deliveries import write_calendar

        write_calendar(out, seed=seed)
    progress.result(_generated(summary, out))
    progress.log_note()
    progress.hint(f"medcom ingest {out}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(callback=opt.existing_paths, help="Files or inbox folders.")],
    received_at: Annotated[
        str | None, typer.Option(help="True arrival date of back-loaded files (YYYY-MM-DD), recorded as such.")
    ] = None,
    verbose: opt.Verbose = False,
) -> None:
    """Validate and load feed files; one verdict per file. Exit 1 when any file was rejected."""
    from ingest.run import ingest_paths, parse_received_at

    result = ingest_paths(paths, received_at=parse_received_at(received_at) if received_at else None)
    progress.log_note()
    accepted = any(o.verdict in ("accepted", "accepted_with_quarantine") for o in result.outcomes)
    if not result.ok:
        progress.hint(
            "fix the REJECTED files above and ingest them again" + ("; then medcom build" if accepted else "")
        )
    elif accepted:
        progress.hint("medcom build")
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def build(
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Build and publish even though nothing has been ingested yet."),
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            callback=opt.choice("duckdb", "spark"),
            help="duckdb (default) or spark (the same models on Spark over the lake); default MEDCOM_ENGINE.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Rebuild everything (default: only what new or replaced batches touch)."),
    ] = False,
    verbose: opt.Verbose = False,
) -> None:
    """Run the dbt project (models and tests) and publish the result to readers."""
    from warehouse.build import build as run_build

    run_build(allow_empty=allow_empty, engine=engine, full=full)
    progress.log_note()
    progress.hint('medcom serve (the dashboard), medcom sql "…" or medcom status')


@app.command(name="docs")
def docs_command(verbose: opt.Verbose = False) -> None:
    """Generate the dbt documentation site (every table and column described) under MEDCOM_HOME/dbt/target."""
    from warehouse.build import docs as run_docs

    run_docs()


@app.command()
def serve(
    host: opt.Host = "127.0.0.1",
    port: opt.Port = 8050,
) -> None:
    """Serve the dashboard."""
    _check_listen(host, port)
    import warehouse

    if warehouse.current_snapshot() is None:
        print(
            "medcom: nothing is published yet — the dashboard stays empty until `medcom ingest INBOX` "
            "and `medcom build` have run",
            file=sys.stderr,
        )
    from dashboards.app import serve as run_serve

    run_serve(host=host, port=port)


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL query; omit for an interactive prompt.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", callback=opt.choice("table", "csv", "json"), help="table | csv | json")
    ] = "table",
    max_rows: Annotated[
        int, typer.Option("--max-rows", callback=opt.between(1, 10_000_000), help="Row limit.")
    ] = 10_000,
    timeout: Annotated[
        float, typer.Option("--timeout", callback=opt.between(0.1, 86_400), help="Time limit in seconds.")
    ] = 30.0,
) -> None:
    """Read-only SQL over the published warehouse."""
    from warehouse.sql_cli import run_sql_command

    raise typer.Exit(run_sql_command(query, fmt=fmt, max_rows=max_rows, timeout=timeout))


@app.command()
def status(
    fmt: Annotated[str, typer.Option("--format", callback=opt.choice("text", "json"), help="text | json")] = "text",
    lang: opt.Lang = None,
) -> None:
    """What is loaded and published: warehouse, last ingest, months per feed and county, last build, users."""
    from medcom.status import collect, render_text

    report = collect()
    if fmt == "json":
        import json

        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    else:
        print(render_text(report, lang))


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option(callback=opt.writable_dir, help="Inbox for the demo data (default MEDCOM_HOME/inbox)."),
    ] = None,
    months: Annotated[int, typer.Option(callback=opt.between(1, 240), help="Months of demo data.")] = 24,
    scale: Annotated[float, typer.Option(callback=opt.between(0.0001, 10), help="Demo scale.")] = 0.02,
    host: opt.Host = "127.0.0.1",
    port: opt.Port = 8050,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard at the end.")] = True,
    verbose: opt.Verbose = False,
    cities: Annotated[int, typer.Option(help="1 = the city of Xuchang; N > 1 = a province (河南省) of N cities.")] = 1,
) -> None:
    """Generate the demo data, ingest it, build, and serve — one command from a fresh checkout."""
    if serve_after:
        _check_listen(host, port)  # before minutes of work, not after
    from ingest.run import ingest_paths
    from medcom.demo_check import check_demo_home
    from medcom.generate import generate as run_generate
    from medcom.generate.deliveries import CALENDAR, arrivals, write_calendar
    from medcom.settings import paths
    from warehouse.build import build as run_build

    home = paths().ensure().home
    inbox = out or home / ("inbox" if cities == 1 else f"inbox-{cities}-cities")
    check_demo_home(home, cities)
    if not (inbox.exists() and any(inbox.iterdir())):
        s = run_generate(inbox, start="2020-01", months=months, scale=scale, seed=42, bad_corpus=False, cities=cities)
        # the delivery calendar (on time / late / a missing month / an outlier), a province's too
        write_calendar(inbox, seed=42)
        progress.result(_generated(s, inbox))
    # replay the delivery calendar: every batch records its file's true arrival
    calendar = arrivals(inbox) if (inbox / CALENDAR).exists() else None
    ingest_paths([inbox], verdicts="problems", received_at=calendar, publish=False)
    run_build()
    from medcom.access.demo import ensure_demo_users, print_demo_users

    print_demo_users(ensure_demo_users())
    progress.log_note()
    if serve_after:
        _check_listen(host, port)
        from dashboards.app import serve as run_serve

        run_serve(host=host, port=port)
    else:
        progress.hint(f"medcom serve --port {port}")


def _generated(summary: dict, out: Path) -> str:
    files = summary.get("files", 0)
    files = len(files) if isinstance(files, (list, dict)) else files
    rows = summary.get("rows")
    return f"generate ok: {files} files" + (f", {rows:,} rows" if rows is not None else "") + f" in {out}"


def _check_listen(host: str, port: int) -> None:
    from medcom.errors import UsageError

    why = opt.port_free(host, port)
    if why:
        raise UsageError(why)


from medcom.closing.cli import register as _register_closing  # noqa: E402 - close, closes, report

_register_closing(app)


def main() -> None:
    code = 0
    try:
        rv = app(standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except click_exc.NoArgsIsHelpError:  # the help was printed already
        code = 0
    except click_exc.UsageError as exc:  # bad option values, unknown options: exit 2
        _usage(exc)
        code = 2
    except typer.Abort:
        print("medcom: aborted", file=sys.stderr)
        code = 1
    except MedcomError as exc:
        _fail(exc, exc.exit_code)
    except KeyboardInterrupt:
        print("medcom: interrupted", file=sys.stderr)
        code = 130
    except PermissionError as exc:
        _fail(RuntimeError(f"permission denied: {exc.filename or exc}"), 1)
    except Exception as exc:  # never a bare traceback: one line, details with --verbose
        _fail(RuntimeError(f"unexpected error ({type(exc).__name__}): {exc}"), 1)
    finally:
        progress.close_log()
    sys.exit(code)


def _usage(exc) -> None:
    ctx = exc.ctx
    where = ctx.command_path if ctx is not None else "medcom"
    msg = exc.format_message()
    msg = msg[:1].lower() + msg[1:] if msg[:1].isupper() and msg[1:2].islower() else msg
    print(f"{where}: {msg}", file=sys.stderr)
    print(f"Try '{where} --help' for help.", file=sys.stderr)


def _fail(exc: Exception, code: int) -> None:
    print(f"medcom: {exc}", file=sys.stderr)
    progress.log(f"error: {exc}")
    if _state["verbose"] or progress.verbose():
        import traceback

        traceback.print_exc()
    progress.close_log()
    sys.exit(code)
