"""`medcom sql`: the sandbox on the command line (one query, or an interactive prompt)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys

from warehouse.sandbox import QueryRejected, QueryResult, run_query


def _jsonable(v):
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if v != int(v) or abs(v) >= 1e15 else f"{v:.1f}"
    return str(_jsonable(v))


def render(result: QueryResult, fmt: str, out=None) -> None:
    out = out or sys.stdout
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(result.columns)
        for row in result.rows:
            w.writerow(["" if v is None else _jsonable(v) for v in row])
    elif fmt == "json":
        json.dump(
            [dict(zip(result.columns, map(_jsonable, r), strict=True)) for r in result.rows],
            out,
            ensure_ascii=False,
            indent=1,
        )
        out.write("\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False, header_style="bold")
        for c in result.columns:
            table.add_column(c, overflow="fold")
        for row in result.rows:
            table.add_row(*[_cell(v) for v in row])
        Console(file=out, width=max(100, min(250, 30 * len(result.columns)))).print(table)


def _status(result: QueryResult, max_rows: int) -> None:
    note = f"{len(result.rows):,} row(s) in {result.elapsed:.2f} s"
    if result.truncated:
        note += f" — cut at the row limit of {max_rows:,} (use --max-rows to change it)"
    print(note, file=sys.stderr)


def run_sql_command(query: str | None, *, fmt: str, max_rows: int, timeout: float) -> int:
    if query is not None:
        try:
            result = run_query(query, max_rows=max_rows, timeout=timeout)
        except QueryRejected as exc:
            print(f"medcom sql: {exc}", file=sys.stderr)
            return 1
        render(result, fmt)
        _status(result, max_rows)
        return 0
    return _interactive(fmt=fmt, max_rows=max_rows, timeout=timeout)


def _interactive(*, fmt: str, max_rows: int, timeout: float) -> int:
    print("medcom sql — read-only; end a query with ';', quit with .quit or Ctrl-D", file=sys.stderr)
    buf: list[str] = []
    while True:
        # the prompt goes to stderr, so `--format csv` output on stdout stays clean
        sys.stderr.write("medcom> " if not buf else "   ...> ")
        sys.stderr.flush()
        try:
            line = input()
        except EOFError:
            print(file=sys.stderr)
            return 0
        if not buf and line.strip() in (".quit", ".exit", "\\q"):
            return 0
        buf.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(buf).strip().rstrip(";")
            buf = []
            try:
                result = run_query(text, max_rows=max_rows, timeout=timeout)
            except QueryRejected as exc:
                print(f"error: {exc}", file=sys.stderr)
                continue
            render(result, fmt)
            _status(result, max_rows)
