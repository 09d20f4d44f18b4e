"""Access log (admins only): sign-ins, page views, SQL, exports and API calls, newest first."""

from __future__ import annotations

import dash
import pandas as pd
from dash import html

from dashboards import frame
from dashboards.components import grid_card
from medcom.access import log

dash.register_page(__name__, path="/access", name="nav_access", order=9)

LIMIT = 5000


def content(q, p, lang):
    from dashboards.i18n import t

    rows = log.read(user=p.get("user") or None, limit=LIMIT)
    df = pd.DataFrame(
        [
            {
                "ts": e.get("ts", "")[:19].replace("T", " "),
                "user": e.get("user"),
                "role": e.get("role"),
                "scope": e.get("scope"),
                "event": e.get("event"),
                "detail": log.describe(e),
            }
            for e in reversed(rows)
        ],
        columns=["ts", "user", "role", "scope", "event", "detail"],
    )
    labels = {k: t(k, lang) for k in ("user", "role", "scope", "event", "detail")} | {"ts": t("time", lang)}
    return html.Div(
        [
            html.H2(t("access_title", lang)),
            grid_card(
                t("titled_count", lang, title=t("nav_access", lang), n=len(df)),
                df,
                "access-grid",
                labels,
                lang,
                height=560,
            ),
        ],
        id="access-page",
    )


layout = frame.page_layout(content)
