"""The Dash application: `create_app()` builds it (once per process), `serve(host, port)` runs it.

Pages are Dash Pages: every module of `dashboards/pages/` registers itself (`dash.register_page`)
with its layout and callbacks beside it — see `dashboards.frame` for how to add one. The URL
(path + query string) is the whole state of a view, so every view is a shareable, reloadable
URL. Each request opens the current published snapshot afresh (a new `medcom build` shows up
without a restart), in the request's scope (`dashboards.frame.current_scope`).

`render(pathname, search, scope)` is the router as a plain function (header + page body), for tests
and tools; the running app goes through Dash Pages' own router to the same page functions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import Response, request

from dashboards import frame
from dashboards.components import href, params
from dashboards.export import export_scorecard
from dashboards.frame import update_search
from dashboards.i18n import norm_lang, t
from dashboards.queries import NoWarehouse, Queries, parse_month
from dashboards.sql_results import sql_download
from medcom.access.scope import Scope

log = logging.getLogger("medcom.dashboard")
HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
PAGES = HERE / "pages"
_APP: Dash | None = None


def nav_pages() -> list[dict]:
    """Registered pages the request's user may open, shown in the top bar in their `order`."""
    pages = [
        pg
        for pg in dash.page_registry.values()
        if pg.get("nav", True) and pg["path"] != "/404" and frame.may_view(pg["path"])
    ]
    return sorted(pages, key=lambda pg: (pg.get("order") or 0, pg["path"]))


def scope_label(scope: Scope, lang: str) -> str:
    """'查看范围: 襄城县' for a scoped viewer, '' for the whole warehouse."""
    if scope.is_all:
        return ""
    name = scope.code
    try:
        with Queries(scope) as q:
            name = q.name(scope.level, scope.code)
    except NoWarehouse:
        pass
    return f"{t('scope', lang)}: {name}"


def header(pathname: str, p: dict, lang: str, scope: Scope):
    carry = {k: p[k] for k in frame.CARRY if k in p}
    links = []
    for pg in nav_pages():
        key = pg["name"]
        active = (pathname or "/") == pg["path"]
        links.append(
            dcc.Link(
                t(key, lang),
                href=href(pg["path"], carry),
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
    return html.Div(
        [
            html.Div(
                [
                    html.Span("医", className="logo"),
                    html.Span(t("app_title", lang), className="brand"),
                    html.Span(scope_label(scope, lang), className="scope", id="scope-label"),
                ],
                className="brand-wrap",
            ),
            html.Nav(links, className="nav"),
            user_box(scope, lang),
            switch,
        ],
        className="topbar",
    )


def user_box(scope: Scope, lang: str):
    """Who is signed in (name, role, scope) and the sign-out link; nothing outside a request."""
    from dashboards.auth import signed_in

    user = signed_in()
    if user is None:
        return None
    where = scope_label(scope, lang).split(": ", 1)[-1] or t("scope_all", lang)
    return html.Div(
        [
            html.Span(f"{user.name} · {t('role_' + user.role, lang)} · {where}", id="signed-in-user"),
            html.A(t("sign_out", lang), href=f"/logout?lang={lang}", id="logout-link", className="lang"),
        ],
        className="user-box",
    )


def page_for(path: str) -> dict | None:
    for pg in dash.page_registry.values():
        if pg["path"] == path and path != "/404":
            return pg
    return None


def render(pathname: str | None, search: str | None, scope: Scope | None = None):
    """(header, page) for a URL, in `scope` (default: the request's)."""
    if not any(m.startswith("dashboards.pages.") for m in dash.page_registry):
        create_app()
    scope = scope if scope is not None else frame.current_scope()
    p = params(search)
    lang = norm_lang(p.get("lang"))
    path = (pathname or "/").rstrip("/") or "/"
    pg = page_for(path)
    if pg is None:
        return header(path, p, lang, scope), html.Div("404", className="empty")
    return header(path, p, lang, scope), frame.render_view(pg["layout"].content, p, scope, path=path)


def create_app(scope: Scope | None = None) -> Dash:
    """The process's Dash app (created on first call; Dash Pages keeps one page registry per process)."""
    global _APP
    if _APP is not None:
        return _APP
    app = Dash(
        "dashboards",
        title="医共体绩效监测",
        use_pages=True,
        pages_folder=str(PAGES),
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
        update_title=None,
        compress=False,
    )
    app.layout = html.Div(
        [
            html.Div(id="header"),
            html.Main(dcc.Loading(dash.page_container, type="circle", delay_show=400), className="main"),
        ]
    )

    @app.callback(Output("header", "children"), Input(frame.LOCATION, "pathname"), Input(frame.LOCATION, "search"))
    def _header(pathname, search):
        p = params(search)
        path = (pathname or "/").rstrip("/") or "/"
        try:
            scope = frame.current_scope()
        except frame.OutOfScope:
            return None
        return header(path, p, norm_lang(p.get("lang")), scope)

    @app.callback(
        Output(frame.LOCATION, "search"),
        Input({"type": "qp", "name": ALL}, "value"),
        State({"type": "qp", "name": ALL}, "id"),
        State(frame.LOCATION, "search"),
        prevent_initial_call=True,
    )
    def _controls(values, ids, search):
        if not ctx.triggered_id:
            return no_update
        new = update_search(values, ids, search)
        return no_update if new == (search or "") else new

    server = app.server
    from dashboards import api, auth

    auth.init(server)
    api.init(server)

    @server.route("/report")
    def _report():
        from dashboards.export import report_html
        from dashboards.scorecard import figures_of, resolve

        p = dict(request.args)
        lang = norm_lang(p.get("lang"))
        if not frame.may("export"):
            return Response(t("not_permitted", lang), status=403, mimetype="text/plain; charset=utf-8")
        frame.audit("report", params=p)
        try:
            with frame.queries() as q:
                _, month, pt = resolve(q, p)
                if month is None:
                    return Response(t("no_data_month", lang), mimetype="text/plain; charset=utf-8")
                body = report_html(q, month, pt, lang, figures_of(q, p, month)[0])
        except NoWarehouse:
            return Response(t("no_warehouse", lang), status=503, mimetype="text/plain; charset=utf-8")
        except frame.OutOfScope:
            return Response(t("not_permitted", lang), status=403, mimetype="text/plain; charset=utf-8")
        return Response(body, mimetype="text/html; charset=utf-8")

    @server.route("/bulletin.pdf")
    def _bulletin():
        """The monthly bulletin PDF (medcom.bulletin) in the viewer's scope: a county user gets their
        county's bulletin only; `?county=<code>` asks for one county's (refused outside the scope)."""
        from dashboards.controls import requested_or_latest
        from medcom.access.scope import Scope
        from medcom.bulletin import bulletin_pdf, scope_args
        from medcom.errors import MedcomError

        p = dict(request.args)
        lang = norm_lang(p.get("lang"))

        def plain(key: str, status: int) -> Response:
            return Response(t(key, lang), status=status, mimetype="text/plain; charset=utf-8")

        if not frame.may("export"):
            frame.audit("bulletin", params=p, refused="role")
            return plain("not_permitted", 403)
        try:
            scope = frame.current_scope()
            want = scope
            if p.get("county") and p["county"] != scope.code:
                want = Scope("county", str(p["county"]))
            with frame.queries(scope) as q:
                if not want.is_all and want != scope and not q.in_scope(want.level, want.code):
                    frame.audit("bulletin", params=p, refused="out of scope")
                    return plain("not_permitted", 403)
                frame.audit("bulletin", params=p)
                month = requested_or_latest(parse_month(p.get("month")), q.months())
                if month is None:
                    return plain("no_data_month", 404)
                pdf = bulletin_pdf(q.con, month, lang=lang, **scope_args(want))
        except frame.OutOfScope:
            return plain("not_permitted", 403)
        except NoWarehouse:
            return plain("no_warehouse", 503)
        except MedcomError as exc:
            return Response(str(exc), status=400, mimetype="text/plain; charset=utf-8")
        name = f"bulletin-{month:%Y-%m}{'-' + want.code if want.code else ''}-{lang}.pdf"
        return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})

    @server.route("/healthz")
    def _health():
        return Response("ok", mimetype="text/plain")

    _APP = app
    return app


def serve(host: str = "127.0.0.1", port: int = 8050) -> None:
    """Development/demo server (threaded Flask). Production: gunicorn 'dashboards.wsgi:server'."""
    from medcom.access.users import all_users

    app = create_app()
    print(f"medcom dashboard: http://{host}:{port}/", flush=True)
    if not all_users():
        print("no users yet: add one with `medcom users add NAME --role admin` to sign in", flush=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host=host, port=port, debug=False, threaded=True)


__all__ = ["create_app", "serve", "render", "update_search", "export_scorecard", "sql_download", "parse_month", "dash"]
