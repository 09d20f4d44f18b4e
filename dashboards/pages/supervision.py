"""Supervision: the family-D scorecard with drill-down, open inspections and overdue complaints."""

from __future__ import annotations

import dash
from dash import html

from dashboards import frame
from dashboards.components import grid_card
from dashboards.i18n import KINDS, pick, t
from dashboards.scorecard import page

dash.register_page(__name__, path="/supervision", name="nav_supervision", order=3)


def _lists(q, org, month, lang):
    insp = q.open_inspections(month)
    comp = q.overdue_complaints(month)
    names = q.orgs().set_index(["org_level", "org_id"]).name.to_dict()
    if not insp.empty:
        insp["kind"] = insp.kind.map(lambda k: pick(KINDS.get(k), lang, k))
        insp["county_code"] = insp.county_code.map(lambda c: names.get(("county", c), c))
        insp["planned_month"] = insp.planned_month.astype(str).str[:7]
        insp = insp[["inspection_id", "facility_name", "county_code", "kind", "planned_month"]]
    if not comp.empty:
        comp["county_code"] = comp.county_code.map(
            lambda c: names.get(("county", c)) or names.get(("city", c)) or names.get(("province", c)) or c
        )
        comp = comp[["complaint_id", "county_code", "received_date", "due_date", "days_overdue"]]
    labels = {
        "inspection_id": t("inspection_id", lang),
        "facility_name": t("facility", lang),
        "county_code": t("county", lang),
        "kind": t("kind", lang),
        "planned_month": t("planned_month", lang),
        "complaint_id": t("complaint_id", lang),
        "received_date": t("received_date", lang),
        "due_date": t("due_date", lang),
        "days_overdue": t("days_overdue", lang),
    }
    return html.Div(
        [
            grid_card(
                t("titled_count", lang, title=t(key, lang), n=len(df)),
                df,
                grid_id,
                labels,
                lang,
                height=320,
            )
            for key, df, grid_id in (
                ("open_inspections", insp, "open-inspections"),
                ("overdue_complaints", comp, "overdue-complaints"),
            )
        ]
    )


def content(q, p, lang):
    return page(q, p, lang, base="/supervision", families=("D",), title_key="supervision_title", extra=_lists)


layout = frame.page_layout(content, cache=True)
