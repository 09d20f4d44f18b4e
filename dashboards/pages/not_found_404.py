"""The page for any path no page registered (Dash Pages looks for a module of this name)."""

from __future__ import annotations

import dash
from dash import html

from dashboards import frame

dash.register_page(__name__, path="/404", nav=False)


def content(q, p, lang):
    return html.Div("404", className="empty")


layout = frame.page_layout(content)
