"""The `medcom` command line: generate, ingest, build, serve, sql, demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from medcom.errors import MedcomError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="medcom — performance analytics for county medical communities (医共体).",
    pretty_exceptions_enable=False,
)

_state = {"verbose": False}


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show error details.")] = False) -> None:
    _state["verbose"] = verbose


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Inbox folder to write the feeds into.")],
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2020-01",
    months: Annotated[int, typer.Option(help="Number of months.")] = 24,
    scale: Annotated[float, typer.Option(help="1.0 = reference city (~2M encounters a month).")] = 0.05,
    seed: Annotated[int, typer.Option(help="Random seed (output is deterministic for a seed).")] = 42,
    bad_corpus: Annotated[
        bool, typer.Option("--bad-corpus", help="Write the bad-input corpus (for tests) instead of the city.")
    ] = False,
    cities: Annotated[
        int, typer.Option(help="1 = the city of Xuchang; N > 1 = a province (河南省) of N prefectures, Xuchang first.")
    ] = 1,
) -> None:
    """Write synthetic feeds for the default city (Xuchang), or a province, in the inbox layout."""
    from medcom.generate import generate as run_generate

    run_generate(out, start=start, months=months, scale=scale, seed=seed, bad_corpus=bad_corpus, cities=cities)


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files or inbox folders.")]) -> None:
    """Validate and load feed files; one verdict per file. Exit 1 when any file was rejected."""
    from ingest.run import ingest_paths

    result = ingest_paths(paths)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def build() -> None:
    """Run the dbt project (models and tests) and publish the result to readers."""
    from warehouse.build import build as run_build

    run_build()


@app.command(name="docs")
def docs_command() -> None:
    """Generate the dbt documentation site (every table and column described) under MEDCOM_HOME/dbt/target."""
    from warehouse.build import docs as run_docs

    run_docs()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8050,
) -> None:
    """Serve the dashboard."""
    from dashboards.app import serve as run_serve

    run_serve(host=host, port=port)


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL query; omit for an interactive prompt.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
    max_rows: Annotated[int, typer.Option("--max-rows", help="Row limit.")] = 10_000,
    timeout: Annotated[float, typer.Option("--timeout", help="Time limit in seconds.")] = 30.0,
) -> None:
    """Read-only SQL over the published warehouse."""
    from warehouse.sql_cli import run_sql_command

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("--format must be table, csv or json")
    raise typer.Exit(run_sql_command(query, fmt=fmt, max_rows=max_rows, timeout=timeout))


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(help="Inbox for the demo data (default MEDCOM_HOME/inbox).")] = None,
    months: Annotated[int, typer.Option(help="Months of demo data.")] = 24,
    scale: Annotated[float, typer.Option(help="Demo scale.")] = 0.02,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8050,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard at the end.")] = True,
) -> None:
    """Generate the demo data, ingest it, build, and serve — one command from a fresh checkout."""
    from ingest.run import ingest_paths
    from medcom.generate import generate as run_generate
    from medcom.settings import paths
    from warehouse.build import build as run_build

    inbox = out or paths().ensure().home / "inbox"
    if not (inbox.exists() and any(inbox.iterdir())):
        run_generate(inbox, start="2020-01", months=months, scale=scale, seed=42, bad_corpus=False)
    ingest_paths([inbox])
    run_build()
    if serve_after:
        from dashboards.app import serve as run_serve

        run_serve(host=host, port=port)


from medcom.closing.cli import register as _register_closing  # noqa: E402 - close, closes, report

_register_closing(app)


def main() -> None:
    try:
        app(standalone_mode=True)
    except MedcomError as exc:  # pragma: no cover - exercised through subprocess tests
        _fail(exc, exc.exit_code)
    except KeyboardInterrupt:
        print("medcom: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # never a bare traceback: one line, details with --verbose
        _fail(RuntimeError(f"unexpected error ({type(exc).__name__}): {exc}"), 1)


def _fail(exc: Exception, code: int) -> None:
    print(f"medcom: {exc}", file=sys.stderr)
    if _state["verbose"]:
        import traceback

        traceback.print_exc()
    sys.exit(code)
