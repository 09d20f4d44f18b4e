"""SQL page: read-only query box over warehouse.sandbox, data dictionary, results grid, CSV/XLSX download."""

from __future__ import annotations

import io

import pandas as pd
from dash import dcc, html

from dashboards.components import grid, neutralise
from dashboards.i18n import t
from dashboards.queries import Queries, run_sql

EXAMPLE = (
    "SELECT o.name, k.period, k.value, k.target, k.status\nFROM marts.kpi_values k\n"
    "JOIN marts.dim_org o USING (org_level, org_id)\n"
    "WHERE k.kpi_code = 'village_phs_task_share' AND k.org_level = 'county' AND k.period_type = 'month'\n"
    "ORDER BY k.period DESC, o.name\nLIMIT 100"
)


def layout(q: Queries, p: dict, lang: str):
    d = q.dictionary()
    labels = {
        "schema": t("schema", lang),
        "table": t("table", lang),
        "column": t("column", lang),
        "type": t("type", lang),
        "description": t("description", lang),
        "table_description": t("table", lang) + " · " + t("description", lang),
    }
    return html.Div(
        [
            html.H2(t("sql_title", lang)),
            html.Div(
                [
                    dcc.Textarea(id="sql-text", value=p.get("q") or EXAMPLE, className="sql-box", spellCheck=False),
                    html.Div(
                        [
                            html.Button(t("run", lang), id="sql-run", className="btn btn-primary"),
                            html.Button(t("download_csv", lang), id="sql-csv", className="btn"),
                            html.Button(t("download_xlsx", lang), id="sql-xlsx", className="btn"),
                            dcc.Download(id="sql-download"),
                            html.Span(id="sql-status", className="hint"),
                        ],
                        className="controls",
                    ),
                    dcc.Loading(html.Div(id="sql-results"), type="dot"),
                ],
                className="card",
            ),
            html.Div(
                [html.H3(t("dictionary", lang)), grid(d, "dictionary-grid", labels, height=420, lang=lang)],
                className="card",
            ),
        ],
        id="sql-page",
    )


def execute(sql: str, lang: str, max_rows: int = 10_000):
    """Run the query; returns (results component, status text). Errors are shown in plain words."""
    import duckdb

    from medcom.errors import MedcomError

    try:
        res = run_sql(sql, max_rows=max_rows)
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


def to_frame(sql: str, max_rows: int = 10_000) -> pd.DataFrame:
    res = run_sql(sql, max_rows=max_rows)
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
