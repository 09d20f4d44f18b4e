"""The Dash application: `create_app(scope)` builds it, `serve(host, port)` runs it (`medcom serve`).

Routing is one server-side callback on the URL (path + query string), so every view — page,
month, period type, drill-down org, language — is a shareable, reloadable URL. Pages are plain
functions of (Queries, params, lang); each request opens the current published snapshot afresh,
so a new `medcom build` shows up without a restart.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlencode

import dash
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import Response, request

from dashboards.components import href, params
from dashboards.i18n import norm_lang, t
from dashboards.queries import NoWarehouse, Queries, Scope, parse_month

log = logging.getLogger("medcom.dashboard")
ASSETS = Path(__file__).resolve().parent / "assets"

NAV = [
    ("/", "nav_scorecard"),
    ("/kpi", "nav_kpi"),
    ("/fund", "nav_fund"),
    ("/supervision", "nav_supervision"),
    ("/quality", "nav_quality"),
    ("/sql", "nav_sql"),
]
# query parameters that survive when moving between pages
CARRY = ("lang", "month", "pt")


def header(pathname: str, p: dict, lang: str, scope: Scope, scope_name: str | None = None):
    carry = {k: p[k] for k in CARRY if k in p}
    links = []
    for path, key in NAV:
        active = (pathname or "/") == path
        links.append(
            dcc.Link(
                t(key, lang),
                href=href(path, carry),
                id=f"nav-{key[4:]}",
                className="nav-link active" if active else "nav-link",
            )
        )
    switch = html.Div(
        [
            dcc.Link(
                "中文",
                href=href(pathname or "/", p, lang="zh"),
                id="lang-zh",
                className="lang active" if lang == "zh" else "lang",
            ),
            html.Span("|", className="lang-sep"),
            dcc.Link(
                "English",
                href=href(pathname or "/", p, lang="en"),
                id="lang-en",
                className="lang active" if lang == "en" else "lang",
            ),
        ],
        className="lang-switch",
    )
    scope_txt = f"{t('scope', lang)}: {scope_name or scope.county}" if scope.county else ""
    return html.Div(
        [
            html.Div(
                [
                    html.Span("医", className="logo"),
                    html.Span(t("app_title", lang), className="brand"),
                    html.Span(scope_txt, className="scope"),
                ],
                className="brand-wrap",
            ),
            html.Nav(links, className="nav"),
            switch,
        ],
        className="topbar",
    )


def render(pathname: str | None, search: str | None, scope: Scope | None = None):
    """(header, page) for a URL — the router, as a plain function."""
    from dashboards.pages import fund, kpi, quality, scorecard, sql, supervision

    scope = scope or Scope()
    p = params(search)
    lang = norm_lang(p.get("lang"))
    path = (pathname or "/").rstrip("/") or "/"
    pages = {
        "/": scorecard.layout,
        "/kpi": kpi.layout,
        "/fund": fund.layout,
        "/supervision": supervision.layout,
        "/quality": quality.layout,
        "/sql": sql.layout,
    }
    page_fn = pages.get(path)
    if page_fn is None:
        return header(path, p, lang, scope), html.Div("404", className="empty")
    scope_name = None
    try:
        with Queries(scope) as q:
            page = page_fn(q, p, lang)
            if scope.county:
                scope_name = q.name("county", scope.county)
    except NoWarehouse:
        page = html.Div(t("no_warehouse", lang), className="empty", id="no-warehouse")
    except Exception as exc:  # one bad view must not take the page down: say so, log the detail
        log.exception("dashboard page %s?%s failed", path, search)
        page = html.Div(
            f"{'页面出错' if lang == 'zh' else 'This view failed'}: {type(exc).__name__}: {exc}",
            className="error",
            id="page-error",
        )
    return header(path, p, lang, scope, scope_name), page


def update_search(values: list, ids: list[dict], search: str | None) -> str:
    """New query string after a control changed (pattern-matching ids {'type': 'qp', 'name': param})."""
    p = params(search)
    for v, i in zip(values, ids, strict=False):
        name = i["name"]
        if v is None:
            continue
        if name == "lo":  # "level:org_id"
            level, _, org = str(v).partition(":")
            p["level"], p["org"] = level, org
        else:
            p[name] = str(v)
    new = "?" + urlencode(p)
    return new


def export_scorecard(search: str | None, scope: Scope | None = None) -> dict | None:
    """dcc.Download payload: the XLSX of the scorecard view in the URL."""
    from dashboards.export import scorecard_xlsx
    from dashboards.pages.scorecard import resolve

    p = params(search)
    lang = norm_lang(p.get("lang"))
    with Queries(scope or Scope()) as q:
        org, month, pt = resolve(q, p)
        if org is None or month is None:
            return None
        data = scorecard_xlsx(q, org, month, pt, lang)
    return dcc.send_bytes(data, f"scorecard_{month:%Y-%m}_{pt}_{org.id}.xlsx")


def sql_download(kind: str, sql_text: str) -> dict | None:
    from dashboards.pages.sql import csv_bytes, to_frame, xlsx_bytes
    from warehouse.sandbox import QueryRejected

    try:
        df = to_frame(sql_text)
    except QueryRejected:
        return None
    if kind == "csv":
        return dcc.send_bytes(csv_bytes(df), "query.csv")
    return dcc.send_bytes(xlsx_bytes(df), "query.xlsx")


def create_app(scope: Scope | None = None) -> Dash:
    scope = scope or Scope.from_env()
    app = Dash(
        __name__,
        title="医共体绩效监测",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
        update_title=None,
        compress=False,
    )
    app.layout = html.Div(
        [
            dcc.Location(id="url", refresh=False),
            html.Div(id="header"),
            html.Main(dcc.Loading(html.Div(id="page"), type="circle", delay_show=400), className="main"),
        ]
    )

    @app.callback(
        Output("header", "children"), Output("page", "children"), Input("url", "pathname"), Input("url", "search")
    )
    def _route(pathname, search):
        return render(pathname, search, scope)

    @app.callback(
        Output("url", "search"),
        Input({"type": "qp", "name": ALL}, "value"),
        State({"type": "qp", "name": ALL}, "id"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def _controls(values, ids, search):
        if not ctx.triggered_id:
            return no_update
        new = update_search(values, ids, search)
        return no_update if new == (search or "") else new

    @app.callback(
        Output("sc-download", "data"), Input("sc-export", "n_clicks"), State("url", "search"), prevent_initial_call=True
    )
    def _export(n, search):
        return export_scorecard(search, scope) if n else no_update

    @app.callback(
        Output("sql-results", "children"),
        Output("sql-status", "children"),
        Input("sql-run", "n_clicks"),
        State("sql-text", "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def _sql(n, text, search):
        from dashboards.pages.sql import execute

        return execute(text or "", norm_lang(params(search).get("lang")))

    @app.callback(
        Output("sql-download", "data"),
        Input("sql-csv", "n_clicks"),
        Input("sql-xlsx", "n_clicks"),
        State("sql-text", "value"),
        prevent_initial_call=True,
    )
    def _sql_dl(n_csv, n_xlsx, text):
        kind = "csv" if ctx.triggered_id == "sql-csv" else "xlsx"
        return sql_download(kind, text or "") or no_update

    server = app.server

    @server.route("/report")
    def _report():
        from dashboards.export import report_html
        from dashboards.pages.scorecard import resolve

        p = dict(request.args)
        lang = norm_lang(p.get("lang"))
        try:
            with Queries(scope) as q:
                _, month, pt = resolve(q, p)
                if month is None:
                    return Response(t("no_data_month", lang), mimetype="text/plain; charset=utf-8")
                body = report_html(q, month, pt, lang)
        except NoWarehouse:
            return Response(t("no_warehouse", lang), status=503, mimetype="text/plain; charset=utf-8")
        return Response(body, mimetype="text/html; charset=utf-8")

    @server.route("/healthz")
    def _health():
        return Response("ok", mimetype="text/plain")

    return app


def serve(host: str = "127.0.0.1", port: int = 8050) -> None:
    """Development/demo server (threaded Flask). Production: gunicorn 'dashboards.wsgi:server'."""
    app = create_app()
    print(f"medcom dashboard: http://{host}:{port}/", flush=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host=host, port=port, debug=False, threaded=True)


__all__ = ["create_app", "serve", "render", "update_search", "export_scorecard", "sql_download", "parse_month", "dash"]
