"""The page frame: how a page registers itself, gets the request's scope and renders.

A page is one module in `dashboards/pages/` (loaded by Dash Pages when the app is created; never
imported directly):

    import dash
    from dash import Input, Output, State, callback
    from dashboards import frame

    dash.register_page(__name__, path="/fund", name="nav_fund", order=2)   # `name` = nav label key for t()

    def content(q, p, lang):          # q: Queries(scope of this request); p: query parameters; lang: zh|en
        return html.Div(...)

    layout = frame.page_layout(content, cache=True)   # the body depends on the snapshot, scope and URL only

    @callback(Output(...), Input(...), State(frame.LOCATION, "search"))   # the page's callbacks, beside it
    def _something(..., search):
        with frame.queries() as q:    # the same scope rule inside callbacks
            ...

`name` is the i18n key of the page's navigation label (`order` its place in the top bar; pages
registered with `nav=False` are left out of it). The URL (path + query string) is the whole
state of a view; controls with id `frame.qp(name)` write their value into it.

The request's scope is decided in ONE place, `current_scope()`, and handed to the queries as
`Queries(scope)`; query modules apply it (see `dashboards.queries`). Nothing else looks at the user.

A page whose body depends only on the published snapshot, the scope and the URL (every page that
reads the warehouse) registers its layout with `cache=True`: its body is then computed once per
(snapshot, scope, URL parameters, day) and served from `dashboards.queries.cache.views` after that.
A page reading anything else (a log, the clock beyond the day) must not.
"""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import urlencode

from dash import html

from dashboards.components import params
from dashboards.controls import qp  # noqa: F401 - the id of a control bound to a query parameter
from dashboards.i18n import norm_lang, t
from dashboards.queries import NoWarehouse, Queries
from dashboards.queries import cache as query_cache
from medcom.access.scope import Scope

log = logging.getLogger("medcom.dashboard")

LOCATION = "_pages_location"  # the dcc.Location of dash.page_container
CARRY = ("lang", "month", "pt")  # query parameters that survive when moving between pages


class OutOfScope(PermissionError):
    """The signed-in user may not see this (role or instance scope)."""


def current_scope() -> Scope:
    """The scope of the current request — the one place it is chosen: the signed-in user's scope
    (`medcom.access.users.User.scope`), narrowed by `MEDCOM_DASHBOARD_COUNTY` when an instance is pinned to
    one county (a thin alias; a user scoped elsewhere is refused). Outside a request (tools, tests)
    it is that alias or the whole warehouse; inside one, without a user, nothing (fail closed)."""
    from flask import has_request_context

    from dashboards.auth import signed_in

    pinned = Scope.from_env()
    if not has_request_context():
        return pinned
    user = signed_in()
    if user is None:
        raise OutOfScope("not signed in")
    scope = user.scope
    if not pinned.is_all:
        if scope.is_all:
            return pinned
        if scope != pinned:
            raise OutOfScope(f"this instance serves {pinned}, not {scope}")
    return scope


def audit(event: str, **detail) -> None:
    """Access-log an event of the signed-in user (nothing outside a request)."""
    from dashboards.auth import signed_in
    from medcom.access import log

    user = signed_in()
    if user is not None:
        log.record(event, user, **detail)


def may_view(path: str) -> bool:
    """May the request's user open the page at `path` (always outside a request)?"""
    from flask import has_request_context

    from dashboards.auth import signed_in
    from medcom.access import roles

    if not has_request_context():
        return True
    user = signed_in()
    return user is not None and roles.may_view(user.role, path)


def may(action: str) -> bool:
    """May the request's user do `action` (sql, export, admin; always outside a request)?"""
    from flask import has_request_context

    from dashboards.auth import signed_in
    from medcom.access import roles

    if not has_request_context():
        return True
    user = signed_in()
    return user is not None and roles.can(user.role, action)


def queries(scope: Scope | None = None) -> Queries:
    """`with frame.queries() as q:` — the request's queries, in the request's scope."""
    return Queries(scope if scope is not None else current_scope())


def normalise_params(kwargs: dict) -> dict[str, str]:
    """Dash Pages hands query parameters as kwargs (a list for a repeated one): keep the last value."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in kwargs.items() if v not in (None, "", [])}


def render_view(content, p: dict, scope: Scope | None = None, cached: bool = False, path: str | None = None):
    """The page body for `content(q, p, lang)`; a missing warehouse, a page the role may not open or a
    failing view is said in plain words. `cached=True` (the running app, for pages registered with
    `cache=True`): from the view cache (keyed by snapshot, scope and URL; the role is checked first),
    as the JSON data Dash sends; otherwise the component tree (tools and tests walk it)."""
    lang = norm_lang(p.get("lang"))
    if path is not None and not may_view(path):
        return html.Div(t("not_permitted", lang), className="empty", id="not-permitted")
    try:
        with queries(scope) as q:
            if not cached or q.cache_key is None:
                return content(q, p, lang)
            # the day is part of the key: views that say what is due or late depend on it
            extra = content.cache_extra() if content.cache_extra else ()
            args = (tuple(sorted(p.items())), date.today().isoformat(), extra)

            def compute():
                return query_cache.Serialised(content(q, p, lang))

            return q.memo(content.__module__, args, compute, shared=True, store=query_cache.views)
    except NoWarehouse:
        return html.Div(t("no_warehouse", lang), className="empty", id="no-warehouse")
    except OutOfScope:
        return html.Div(t("not_permitted", lang), className="empty", id="not-permitted")
    except Exception as exc:  # one bad view must not take the page down: say so, log the detail
        log.exception("dashboard page failed for %s", p)
        return html.Div(f"{t('view_failed', lang)}: {type(exc).__name__}: {exc}", className="error", id="page-error")


def page_layout(content, cache: bool = False, cache_extra=None):
    """The `layout` Dash Pages calls with the URL's query parameters; `cache=True`: the body is cached
    per snapshot, scope and URL (see the module's docstring); `cache_extra()`: more key parts, for a
    page that also reads a file beside the snapshot."""
    content.cached = cache
    content.cache_extra = cache_extra

    def layout(**kwargs):
        import dash

        p = normalise_params(kwargs)
        path = dash.page_registry.get(content.__module__, {}).get("path")
        audit("page", path=path, params=p)
        return render_view(content, p, cached=content.cached, path=path)

    layout.content = content
    return layout


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
    return "?" + urlencode(p)
