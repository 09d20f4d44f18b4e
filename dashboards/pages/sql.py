"""SQL page: read-only query box over warehouse.sandbox, data dictionary, results grid, CSV/XLSX download."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboards import frame
from dashboards.components import grid, params
from dashboards.i18n import norm_lang, t
from dashboards.queries import Queries, manifest_stamp
from dashboards.sql_results import execute, sql_download

dash.register_page(__name__, path="/sql", name="nav_sql", order=5)

EXAMPLE = (
    "SELECT o.name, k.period, k.value, k.target, k.status\nFROM marts.kpi_values k\n"
    "JOIN marts.dim_org o USING (org_level, org_id)\n"
    "WHERE k.kpi_code = 'village_phs_task_share' AND k.org_level = 'county' AND k.period_type = 'month'\n"
    "ORDER BY k.period DESC, o.name\nLIMIT 100"
)


def content(q: Queries, p: dict, lang: str):
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


layout = frame.page_layout(content, cache=True, cache_extra=manifest_stamp)


@callback(
    Output("sql-results", "children"),
    Output("sql-status", "children"),
    Input("sql-run", "n_clicks"),
    State("sql-text", "value"),
    State(frame.LOCATION, "search"),
    prevent_initial_call=True,
)
def _run(n, text, search):
    lang = norm_lang(params(search).get("lang"))
    if not frame.may("sql"):
        return html.Div(t("not_permitted", lang), className="error", id="sql-error"), ""
    frame.audit("sql", sql=text or "", via="page")
    return execute(text or "", lang, scope=frame.current_scope())


@callback(
    Output("sql-download", "data"),
    Input("sql-csv", "n_clicks"),
    Input("sql-xlsx", "n_clicks"),
    State("sql-text", "value"),
    prevent_initial_call=True,
)
def _download(n_csv, n_xlsx, text):
    kind = "csv" if ctx.triggered_id == "sql-csv" else "xlsx"
    if not frame.may("sql"):
        return no_update
    frame.audit("sql_download", sql=text or "", format=kind)
    return sql_download(kind, text or "", frame.current_scope()) or no_update
