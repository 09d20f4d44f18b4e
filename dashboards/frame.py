"""The page frame: how a page registers itself, gets the request's scope and renders.

A page is one module in `dashboards/pages/` (loaded by Dash Pages when the app is created; never
imported directly):

    import dash
    from dash import Input, Output, State, callback
    from dashboards import frame

    dash.register_page(__name__, path="/fund", name="nav_fund", order=2)   # `name` = nav label key for t()

    def content(q, p, lang):          # q: Queries(scope of this request); p: query parameters; lang: zh|en
        return html.Div(...)

    layout = frame.page_layout(content)

    @callback(Output(...), Input(...), State(frame.LOCATION, "search"))   # the page's callbacks, beside it
    def _something(..., search):
        with frame.queries() as q:    # the same scope rule inside callbacks
            ...

`name` is the i18n key of the page's navigation label (`order` its place in the top bar; pages
registered with `nav=False` are left out of it). The URL (path + query string) is the whole
state of a view; controls with id `frame.qp(name)` write their value into it.

The request's scope is decided in ONE place, `current_scope()`, and handed to the queries as
`Queries(scope)`; query modules apply it (see `dashboards.queries`). Nothing else looks at the user.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from dash import html

from access.scope import Scope
from dashboards.components import params
from dashboards.controls import qp  # noqa: F401 - the id of a control bound to a query parameter
from dashboards.i18n import norm_lang, t
from dashboards.queries import NoWarehouse, Queries

log = logging.getLogger("medcom.dashboard")

LOCATION = "_pages_location"  # the dcc.Location of dash.page_container
CARRY = ("lang", "month", "pt")  # query parameters that survive when moving between pages


def current_scope() -> Scope:
    """The scope of the current request: the one place it is chosen."""
    return Scope.from_env()


def queries(scope: Scope | None = None) -> Queries:
    """`with frame.queries() as q:` — the request's queries, in the request's scope."""
    return Queries(scope if scope is not None else current_scope())


def normalise_params(kwargs: dict) -> dict[str, str]:
    """Dash Pages hands query parameters as kwargs (a list for a repeated one): keep the last value."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in kwargs.items() if v not in (None, "", [])}


def render_view(content, p: dict, scope: Scope | None = None):
    """The page body for `content(q, p, lang)`; a missing warehouse or a failing view is said in plain words."""
    lang = norm_lang(p.get("lang"))
    try:
        with queries(scope) as q:
            return content(q, p, lang)
    except NoWarehouse:
        return html.Div(t("no_warehouse", lang), className="empty", id="no-warehouse")
    except Exception as exc:  # one bad view must not take the page down: say so, log the detail
        log.exception("dashboard page failed for %s", p)
        return html.Div(f"{t('view_failed', lang)}: {type(exc).__name__}: {exc}", className="error", id="page-error")


def page_layout(content):
    """The `layout` Dash Pages calls with the URL's query parameters."""

    def layout(**kwargs):
        return render_view(content, normalise_params(kwargs))

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
