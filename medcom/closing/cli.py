"""`medcom close`, `medcom closes` and `medcom report` (registered in medcom/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medcom import cli_options as opt
from medcom.errors import UsageError


def close(
    month: Annotated[str, typer.Argument(help="The month to close, YYYY-MM.")],
    note: Annotated[str | None, typer.Option("--note", help="Why (required when closing a month again).")] = None,
) -> None:
    """Close a month: freeze its published KPI figures (a new revision each time)."""
    from medcom.closing.store import close_month, parse_month

    close_month(parse_month(month), note=note)


def closes() -> None:
    """List closed months and their revisions (time, user, note, cells restated since)."""
    import warehouse
    from medcom.closing.restatements import restatements
    from medcom.closing.store import list_closes

    con = warehouse.connect_reader()
    try:
        df = list_closes(con)
        if df.empty:
            print("no month has been closed yet (close one with `medcom close YYYY-MM`)")
            return
        restated = restatements(con)
        counts = restated.groupby(["closed_month", "revision"]).size().to_dict() if not restated.empty else {}
    finally:
        con.close()
    from rich.console import Console
    from rich.table import Table

    table = Table("month", "revision", "closed at (UTC)", "by", "note", "KPI rows", "batches", "restated since")
    latest = df.groupby("closed_month").revision.max().to_dict()
    for r in df.itertuples():
        month = r.closed_month.date() if hasattr(r.closed_month, "date") else r.closed_month
        is_latest = latest[r.closed_month] == r.revision
        n = counts.get((month, r.revision), 0) if is_latest else None
        table.add_row(
            f"{month:%Y-%m}",
            str(r.revision),
            f"{r.closed_at:%Y-%m-%d %H:%M}",
            str(r.closed_by),
            r.note if isinstance(r.note, str) else "",
            f"{r.kpi_rows:,}",
            f"{r.batches:,}",
            "—" if n is None else f"{n:,} cells",
        )
    Console(width=160).print(table)


def report(
    month: Annotated[str, typer.Argument(help="The month of the bulletin, YYYY-MM.")],
    out: Annotated[Path, typer.Option("--out", callback=opt.writable_file, help="PDF file to write.")],
    county: Annotated[
        str | None, typer.Option("--county", callback=opt.county_code, help="Only this county (code).")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh | en")] = "zh",
) -> None:
    """Write the monthly bulletin (通报) as a PDF."""
    from medcom.bulletin import write_bulletin
    from medcom.closing.store import parse_month

    if lang not in ("zh", "en"):
        raise UsageError("--lang must be zh or en")
    info = write_bulletin(parse_month(month), out, county=county, lang=lang)
    print(f"wrote {out} ({info['pages']} pages, {info['state']})")


def register(app: typer.Typer) -> None:
    app.command("close")(close)
    app.command("closes")(closes)
    app.command("report")(report)
