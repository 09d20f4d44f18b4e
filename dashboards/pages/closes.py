"""Revision log: every monthly close (revision, time, user, note) and every cell restated since."""

from __future__ import annotations

import dash
import pandas as pd
from dash import html

from dashboards import frame
from dashboards.components import fmt_ts, fmt_value, grid_card, href, kpi_name, month_label, simple_table, status_label
from dashboards.i18n import t

dash.register_page(__name__, path="/closes", name="nav_closes", order=6)


def _closes_table(df: pd.DataFrame, lang: str):
    if df.empty:
        return html.Div(t("no_closes", lang), className="empty", id="no-closes")
    rows = pd.DataFrame(
        {
            "closed_month": [f"{pd.Timestamp(m):%Y-%m}" for m in df.closed_month],
            "revision": [int(r) for r in df.revision],
            "closed_at": [fmt_ts(x) for x in df.closed_at],
            "closed_by": df.closed_by.fillna(""),
            "note": df.note.fillna(""),
        }
    )
    labels = {c: t(f"close_{c}", lang) for c in rows.columns}
    return simple_table(rows, labels, table_id="closes-table")


def content(q, p, lang):
    closes = q.closes()
    restated = q.restated()
    kpis = q.kpis().set_index("kpi_code")
    if not restated.empty:
        units = kpis.unit.to_dict()
        names = {c: kpi_name(k, lang) for c, k in kpis.iterrows()}
        view = pd.DataFrame(
            {
                "closed_month": [
                    f"{pd.Timestamp(m):%Y-%m} r{int(r)}"
                    for m, r in zip(restated.closed_month, restated.revision, strict=True)
                ],
                "kpi": [names.get(c, c) for c in restated.kpi_code],
                "org": [q.name(lv, str(o)) for lv, o in zip(restated.org_level, restated.org_id, strict=True)],
                "period_type": [t(f"pt_{x}", lang) for x in restated.period_type],
                "old_value": [fmt_value(v, units.get(c), lang) for v, c in zip(restated.old_value, restated.kpi_code, strict=True)],
                "new_value": [fmt_value(v, units.get(c), lang) for v, c in zip(restated.new_value, restated.kpi_code, strict=True)],
                "status": [
                    status_label(a, lang) if a == b else f"{status_label(a, lang)} → {status_label(b, lang)}"
                    for a, b in zip(restated.old_status, restated.new_status, strict=True)
                ],
                "files": [", ".join(f) for f in restated.files],
            }
        )  # fmt: skip
    else:
        view = pd.DataFrame(
            columns=["closed_month", "kpi", "org", "period_type", "old_value", "new_value", "status", "files"]
        )
    labels = {c: t(f"rs_{c}", lang) for c in view.columns}
    latest = closes.iloc[0] if not closes.empty else None
    link = None
    if latest is not None:
        m = pd.Timestamp(latest.closed_month).date()
        link = html.A(
            t("open_closed_scorecard", lang, month=month_label(m, lang)),
            href=href("/", {"lang": lang, "month": f"{m:%Y-%m}"}),
            id="closes-scorecard-link",
        )
    return html.Div(
        [
            html.H2(t("nav_closes", lang)),
            html.P(t("closes_intro", lang), className="hint"),
            html.Div([html.H3(t("closes_title", lang)), _closes_table(closes, lang), link], className="card"),
            grid_card(
                t("titled_count", lang, title=t("restated_title", lang), n=len(view)),
                view,
                "restated-grid",
                labels,
                lang,
                height=420,
            ),
        ],
        id="closes-page",
    )


layout = frame.page_layout(content, cache=True)
