"""The scorecard view and its drill-down, shared by the scorecard and supervision pages, the XLSX export
and the printable report: `resolve` (URL → org, month, period type in scope), `view` (the tables of one
drill-down view) and `page` (the whole page body)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from dash import dcc, html

from dashboards.components import (
    STATUS_COLOURS,
    fmt_value,
    href,
    legend,
    month_label,
    month_str,
    scorecard_list,
    scorecard_matrix,
)
from dashboards.controls import control, period_type_control, picker, requested_or_latest
from dashboards.i18n import t
from dashboards.queries import Org, Queries, parse_month

MAX_COLUMNS = 12  # more children than this: transposed list (org rows × KPI columns)


def resolve(q: Queries, p: dict) -> tuple[Org | None, date | None, str]:
    """The org, month and period type a URL asks for, clamped to the viewer's scope and the data."""
    root = q.root()
    org = None
    if p.get("level") and p.get("org") and q.in_scope(p["level"], p["org"]):
        org = q.org(p["level"], p["org"])
    org = org or root
    month = requested_or_latest(parse_month(p.get("month")), q.months())
    pt = p.get("pt") if p.get("pt") in ("month", "ytd") else "month"
    return org, month, pt


def figures_of(q: Queries, p: dict, month: date) -> tuple[str, dict | None]:
    """('closed' | 'current', the month's newest close): a closed month shows its closed figures
    unless the URL asks for `fig=current`."""
    close = q.close_of(month)
    if close is None:
        return "current", None
    return ("current" if p.get("fig") == "current" else "closed"), close


def close_banner(q: Queries, month: date, fig: str, close: dict | None, base: str, state: dict, lang: str):
    """'closed on … (revision n)' with the closed / current switch, or 'not closed'."""
    if close is None:
        return html.Div(t("not_closed", lang), className="close-banner open", id="close-banner")
    when = pd.Timestamp(close["closed_at"])
    text = t("closed_on", lang, date=f"{when:%Y-%m-%d %H:%M}", revision=int(close["revision"]))
    if fig == "current":
        text += " · " + t("showing_current", lang)
    links = [
        dcc.Link(
            t(f"fig_{f}", lang),
            href=href(base, state, fig=f),
            id=f"fig-{f}",
            className="fig-switch active" if f == fig else "fig-switch",
        )
        for f in ("closed", "current")
    ]
    return html.Div(
        [html.Span(text, id="close-banner-text"), html.Span(links, className="fig-switches")],
        className=f"close-banner {fig}",
        id="close-banner",
        **{"data-figures": fig, "data-revision": str(int(close["revision"]))},
    )


def view(
    q: Queries,
    org: Org,
    month: date,
    pt: str,
    families: tuple[str, ...] | None = None,
    lang: str = "zh",
    fig: str = "current",
) -> list[dict]:
    """The tables of one drill-down view: [{'kind': 'matrix'|'list', 'orgs': [...], 'cells': df, 'title'}].
    `fig="closed"`: the month's closed figures (newest revision); restated cells are marked either way."""
    kids = q.children(org.level, org.id)
    tables = []
    restated = q.restated(month) if q.close_of(month) else None

    def _noted(cells: pd.DataFrame, pt: str, lang: str = "zh") -> pd.DataFrame:
        return _marked(_noted_cells(cells, pt, lang), restated, fig, q, lang)

    if fig == "closed":
        q = _ClosedCells(q)
    if org.level in ("province", "city", "county"):
        child_level = {"province": "city", "city": "county", "county": "community"}[org.level]
        orgs = [org] + kids.get(child_level, [])
        tables.append(
            dict(kind="matrix", orgs=orgs, cells=_noted(q.cells(orgs, month, pt, families), pt, lang), title=None)
        )
    elif org.level == "community":
        facs = kids.get("facility", [])
        if len(facs) <= MAX_COLUMNS:
            orgs = [org] + facs
            tables.append(
                dict(
                    kind="matrix",
                    orgs=orgs,
                    cells=_noted(q.cells(orgs, month, pt, families), pt, lang),
                    title="member_facilities",
                )
            )
        else:
            tables.append(
                dict(kind="matrix", orgs=[org], cells=_noted(q.cells([org], month, pt, families), pt, lang), title=None)
            )
            cells = _noted(q.cells(facs, month, pt, families), pt, lang)
            tables.append(dict(kind="list", orgs=facs, cells=cells, title="member_facilities"))
        towns = kids.get("township", [])
        if towns:
            cells = _noted(q.cells(towns, month, pt, families), pt, lang)
            if not cells.empty:
                kind = "matrix" if len(towns) <= MAX_COLUMNS else "list"
                tables.append(dict(kind=kind, orgs=towns, cells=cells, title="townships"))
    else:
        tables.append(
            dict(kind="matrix", orgs=[org], cells=_noted(q.cells([org], month, pt, families), pt, lang), title=None)
        )
    return tables


class _ClosedCells:
    """`q` whose `cells()` are the month's closed figures (everything else passes through)."""

    def __init__(self, q: Queries):
        self._q = q

    def __getattr__(self, name):
        return getattr(self._q, name)

    def cells(self, orgs, month, pt="month", families=None):
        return self._q.closed_cells(orgs, month, pt, families)


def _key(r) -> tuple:
    return (r.kpi_code, r.org_level, str(r.org_id), r.period_type, pd.Timestamp(r.period).date())


def _marked(cells: pd.DataFrame, restated: pd.DataFrame | None, fig: str, q: Queries, lang: str) -> pd.DataFrame:
    """Mark restated cells: `_restated` ("更正 old → new") and `_restated_tip` (the correction files)."""
    if restated is None or restated.empty or cells.empty:
        return cells
    units = q.kpis().set_index("kpi_code").unit.to_dict()
    index = {_key(r): r for r in restated.itertuples()}
    marks, tips = [], []
    for r in cells.itertuples():
        hit = index.get(_key(r))
        if hit is None:
            marks.append("")
            tips.append("")
            continue
        unit = units.get(r.kpi_code)
        old, new = fmt_value(hit.old_value, unit, lang), fmt_value(hit.new_value, unit, lang)
        marks.append(t("restated_mark", lang, old=old, new=new))
        files = ", ".join(hit.files) or "—"
        tips.append(t("restated_tip", lang, files=files))
    cells = cells.copy()
    cells["_restated"] = marks
    cells["_restated_tip"] = tips
    return cells


def _noted_cells(cells: pd.DataFrame, pt: str, lang: str = "zh") -> pd.DataFrame:
    if cells.empty:
        return cells
    cells = cells.copy()
    notes = []
    for r in cells.itertuples():
        if r.period_type == pt:
            notes.append("")
        elif r.period_type == "year":
            notes.append(f"{pd.Timestamp(r.period).year}")
        else:
            notes.append(t(f"note_{r.period_type}", lang))
    cells["_note"] = notes
    return cells


def summary(tables: list[dict], org: Org, lang: str):
    """How many of the viewed org's scored KPIs are green / amber / red."""
    cells = tables[0]["cells"] if tables else pd.DataFrame()
    if cells.empty:
        return None
    mine = cells[(cells.org_level == org.level) & (cells.org_id == org.id)]
    counts = mine.status.value_counts()
    items = []
    for st in ("green", "amber", "red"):
        bg, fg = STATUS_COLOURS[st]
        items.append(
            html.Span(
                [html.B(str(int(counts.get(st, 0)))), " ", t(f"st_{st}", lang)],
                className="summary-pill",
                style={"background": bg, "color": fg},
                id=f"summary-{st}",
            )
        )
    return html.Div(items, className="summary", id="scorecard-summary")


def level_label(lang: str):
    return lambda o: t(f"lvl_{o.level}", lang)


def breadcrumbs(q: Queries, org: Org, base: str, p: dict, lang: str):
    trail = q.path(org.level, org.id)
    items = []
    for i, o in enumerate(trail):
        if i:
            items.append(html.Span("›", className="crumb-sep"))
        if i < len(trail) - 1:
            items.append(
                dcc.Link(
                    o.name, href=href(base, p, level=o.level, org=o.id), className="crumb", id=f"crumb-{o.level}-{o.id}"
                )
            )
        else:
            items.append(html.Span(o.name, className="crumb crumb-current", id=f"crumb-{o.level}-{o.id}"))
    return html.Nav(items, className="breadcrumbs", id="breadcrumbs")


def controls(q: Queries, month: date, pt: str, lang: str, with_export: bool = True, fig: str = "current"):
    months = q.months()
    options = [{"label": month_label(m, lang), "value": month_str(m)} for m in reversed(months)]
    items = [
        control(t("month", lang), picker("month", month_str(month), options, "month-picker")),
        period_type_control(pt, ("month", "ytd"), lang),
    ]
    if with_export:
        items += [
            html.Button(t("export_xlsx", lang), id="sc-export", className="btn"),
            dcc.Download(id="sc-download"),
            html.A(
                t("print_report", lang),
                href=f"/report?month={month_str(month)}&pt={pt}&lang={lang}&fig={fig}",
                target="_blank",
                className="btn btn-link",
                id="print-link",
            ),
            html.A(
                t("bulletin_pdf", lang),
                href=f"/bulletin.pdf?month={month_str(month)}&lang={lang}",
                target="_blank",
                className="btn btn-link",
                id="bulletin-link",
                title=t("bulletin_pdf_hint", lang),
            ),
        ]
    return html.Div(items, className="controls")


def out_of_scope_notice(q: Queries, p: dict, lang: str):
    """A plain notice when the URL names an org the viewer may not see (the view falls back to their root)."""
    if p.get("level") and p.get("org") and not q.in_scope(p["level"], p["org"]):
        return html.Div(t("out_of_scope", lang), className="notice", id="out-of-scope")
    return None


def page(
    q: Queries,
    p: dict,
    lang: str,
    base: str = "/",
    families: tuple[str, ...] | None = None,
    title_key: str = "nav_scorecard",
    extra=None,
):
    org, month, pt = resolve(q, p)
    if org is None or month is None:
        return html.Div(t("no_data_month", lang), className="empty")
    state = {**p, "month": month_str(month), "pt": pt, "level": org.level, "org": org.id, "lang": lang}
    fig, close = figures_of(q, p, month)
    kpis = q.kpis()
    if families:
        kpis = kpis[kpis.family.isin(families)]
    blocks = []
    tables = view(q, org, month, pt, families, lang, fig=fig)
    for i, tb in enumerate(tables):

        def header_link(o, _cur=org):
            return None if (o.level, o.id) == (_cur.level, _cur.id) else href(base, state, level=o.level, org=o.id)

        def kpi_link(k, _lvl=tb["orgs"][0].level, _org=tb["orgs"][0].id):
            return href(
                "/kpi", {"lang": lang, "month": month_str(month), "pt": pt}, code=k["kpi_code"], level=_lvl, org=_org
            )

        if tb["kind"] == "matrix":
            table = scorecard_matrix(
                kpis,
                tb["orgs"],
                tb["cells"],
                lang,
                header_link=header_link,
                kpi_link=kpi_link,
                table_id=f"scorecard-{i}",
                current=org,
                level_label=level_label(lang),
            )
        else:
            table = scorecard_list(kpis, tb["orgs"], tb["cells"], lang, row_link=header_link, table_id=f"scorecard-{i}")
        blocks.append(
            html.Div(
                [html.H3(t(tb["title"], lang)) if tb["title"] else None, html.Div(table, className="table-scroll")],
                className="card",
            )
        )
    return html.Div(
        [
            html.H2(
                [
                    t(title_key, lang),
                    html.Span(f" · {month_label(month, lang)} · {t('pt_' + pt, lang)}", className="subtitle"),
                ]
            ),
            out_of_scope_notice(q, p, lang),
            controls(q, month, pt, lang, with_export=families is None, fig=fig),
            close_banner(q, month, fig, close, base, state, lang),
            html.Div([breadcrumbs(q, org, base, state, lang), summary(tables, org, lang)], className="crumb-row"),
            html.Div([legend(lang), html.Span(t("drill_hint", lang), className="hint")], className="legend-row"),
            *blocks,
            extra(q, org, month, lang) if extra else None,
        ],
        id="scorecard-page",
    )
