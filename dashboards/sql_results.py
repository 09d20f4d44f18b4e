"""SQL results for the SQL page: run a sandboxed query, show it in a grid, download it as CSV or XLSX."""

from __future__ import annotations

import io

import pandas as pd
from dash import dcc, html

from dashboards.components import grid, neutralise
from dashboards.i18n import t
from dashboards.queries import run_sql


def execute(sql: str, lang: str, max_rows: int = 10_000, scope=None):
    """Run the query; returns (results component, status text). Errors are shown in plain words."""
    import duckdb

    from medcom.errors import MedcomError

    try:
        res = run_sql(sql, max_rows=max_rows, scope=scope)
    except (MedcomError, duckdb.Error) as exc:  # QueryRejected is a MedcomError
        return html.Div(
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__, className="error", id="sql-error"
        ), ""
    df = pd.DataFrame(res.rows, columns=_unique(res.columns))
    status = t("rows_returned", lang, n=len(df), s=res.elapsed)
    if res.truncated:
        status += t("truncated", lang, n=max_rows)
    return grid(df, "sql-grid", height=360, lang=lang), status


def _unique(cols):
    seen, out = {}, []
    for c in cols:
        n = seen.get(c, 0)
        out.append(c if n == 0 else f"{c}_{n}")
        seen[c] = n + 1
    return out


def to_frame(sql: str, max_rows: int = 10_000, scope=None) -> pd.DataFrame:
    res = run_sql(sql, max_rows=max_rows, scope=scope)
    return pd.DataFrame(res.rows, columns=_unique(res.columns))


def csv_bytes(df: pd.DataFrame) -> bytes:
    safe = df.map(neutralise) if not df.empty else df
    return safe.to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    safe = df.copy()
    for c in safe.columns:
        if isinstance(safe[c].dtype, pd.DatetimeTZDtype):
            safe[c] = safe[c].dt.tz_localize(None)
    safe = safe.map(neutralise) if not safe.empty else safe
    with pd.ExcelWriter(
        buf, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}}
    ) as xw:
        safe.to_excel(xw, index=False, sheet_name="result")
    return buf.getvalue()


def sql_download(kind: str, sql_text: str, scope=None) -> dict | None:
    """dcc.Download payload of the query's rows (`kind` csv or xlsx); None for a refused query."""
    from warehouse.sandbox import QueryRejected

    try:
        df = to_frame(sql_text, scope=scope)
    except QueryRejected:
        return None
    if kind == "csv":
        return dcc.send_bytes(csv_bytes(df), "query.csv")
    return dcc.send_bytes(xlsx_bytes(df), "query.xlsx")
