"""Scorecard (home): KPI rows × org columns with drill-down; XLSX export of the view in the URL."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, no_update

from dashboards import frame
from dashboards.components import params
from dashboards.export import export_scorecard
from dashboards.scorecard import page

dash.register_page(__name__, path="/", name="nav_scorecard", order=0)


def content(q, p, lang):
    return page(q, p, lang)


layout = frame.page_layout(content, cache=True)


@callback(
    Output("sc-download", "data"),
    Input("sc-export", "n_clicks"),
    State(frame.LOCATION, "search"),
    prevent_initial_call=True,
)
def _export(n, search):
    if not n or not frame.may("export"):
        return no_update
    frame.audit("export_xlsx", params=params(search))
    return export_scorecard(search, frame.current_scope()) or no_update
