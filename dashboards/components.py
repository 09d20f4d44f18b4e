"""Shared view helpers: number formatting, status colours, URLs, the scorecard matrix."""

from __future__ import annotations

import math
from datetime import date, datetime
from urllib.parse import parse_qsl, urlencode

import dash_ag_grid as dag
import pandas as pd
from dash import dcc, html

from dashboards import trust
from dashboards.i18n import family_label, t
from medcom.numbers import fmt_value
from medcom.numbers import isnum as _isnum

STATUS_COLOURS = {  # background, text
    "green": ("#d4edda", "#155724"),
    "amber": ("#fff3cd", "#7a5a00"),
    "red": ("#f8d7da", "#842029"),
    "none": ("#eef1f4", "#333"),
    "insufficient": ("#e9ecef", "#6c757d"),
    "no_data": ("#ffffff", "#9aa0a6"),
}
XLSX_STATUS = {
    "green": "#C6EFCE",
    "amber": "#FFEB9C",
    "red": "#FFC7CE",
    "insufficient": "#E7E6E6",
    "none": "#F2F2F2",
    "no_data": "#FFFFFF",
}
UNIT_LABELS = {
    "fraction": ("比例（%）", "share (%)"),
    "count": ("计数", "count"),
    "yuan": ("元", "yuan"),
    "per_mille": ("‰", "per mille"),
    "per_100k": ("/10万", "per 100,000"),
}


def params(search: str | None) -> dict[str, str]:
    return dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=False))


def href(path: str, p: dict, **changes) -> str:
    q = {**p, **changes}
    q = {k: v for k, v in q.items() if v not in (None, "")}
    return f"{path}?{urlencode(q)}" if q else path


def month_str(d: date | None) -> str:
    return f"{d:%Y-%m}" if d else ""


def month_label(d: date, lang: str) -> str:
    return f"{d.year}年{d.month}月" if lang == "zh" else f"{d:%b %Y}"


def fmt_number(v, digits: int = 0) -> str:
    return "—" if not _isnum(v) else f"{float(v):,.{digits}f}"


def fmt_yuan(v) -> str:
    return "—" if not _isnum(v) else f"{float(v):,.0f}"


def fmt_target(target, direction: str | None, unit: str | None, lang: str) -> str:
    if not _isnum(target):
        return ""
    sign = {">=": "≥", "<=": "≤"}.get(direction or "", "")
    return f"{t('target', lang)} {sign}{fmt_value(target, unit, lang)}"


def status_label(status: str | None, lang: str) -> str:
    return t(f"st_{status}", lang) if status else ""


def fmt_ts(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v):
        return "—"
    if isinstance(v, datetime | pd.Timestamp):
        return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")
    return str(v)


def legend(lang: str):
    items = []
    for s in ("green", "amber", "red", "none", "insufficient", "no_data"):
        bg, fg = STATUS_COLOURS[s]
        items.append(html.Span(status_label(s, lang), className="legend-item", style={"background": bg, "color": fg}))
    items.append(html.Span(t("prov_legend", lang), className="legend-item legend-provisional"))
    return html.Div(items, className="legend")


def kpi_cell(row: dict | None, unit: str | None, lang: str):
    if row is None:
        return html.Td("·", className="cell cell-undefined")
    status = row.get("status") or "no_data"
    bg, fg = STATUS_COLOURS.get(status, STATUS_COLOURS["none"])
    tip = status_label(status, lang)
    if _isnum(row.get("denominator")):
        tip += (
            f" · {t('numerator', lang)} {fmt_number(row.get('numerator'), 2).rstrip('0').rstrip('.')}"
            f" / {t('denominator', lang)} {fmt_number(row.get('denominator'), 2).rstrip('0').rstrip('.')}"
        )
    note = ""
    if row.get("_note"):
        note = row["_note"]
    restated = row.get("_restated") if isinstance(row.get("_restated"), str) else ""
    prov = trust.tooltip(row, lang)
    return html.Td(
        [
            html.Div(fmt_value(row.get("value"), unit, lang), className="cell-value"),
            html.Div(fmt_target(row.get("target"), row.get("direction"), unit, lang), className="cell-target"),
            html.Div(note, className="cell-note") if note else None,
            html.Div(restated, className="cell-restated", title=row.get("_restated_tip") or "") if restated else None,
            provisional_mark(prov, lang) if prov else None,
        ],
        className=f"cell status-{status}" + (" restated" if restated else "") + (" provisional" if prov else ""),
        style={"background": bg, "color": fg},
        title=tip,
        **{"data-status": status, "data-provisional": "1" if prov else "0"},
    )


def provisional_mark(tooltip: str, lang: str):
    """The "暂定 / provisional" badge of a cell; its tooltip says what the data lacks."""
    return html.Span(
        trust.mark_label(lang),
        className="cell-provisional",
        tabIndex="0",
        **{"data-tip": tooltip, "aria-label": tooltip},
    )


def kpi_name(k: dict, lang: str) -> str:
    return str(k["name_zh"] if lang == "zh" else k["name_en"])


def scorecard_matrix(
    kpis: pd.DataFrame,
    orgs: list,
    cells: pd.DataFrame,
    lang: str,
    *,
    header_link,
    kpi_link,
    table_id: str,
    current=None,
    level_label=None,
    show_empty_rows=False,
):
    """KPI rows (grouped by family) × org columns. `header_link(org) -> href | None`."""
    by_key = {(r["kpi_code"], r["org_level"], r["org_id"]): r for r in cells.to_dict("records")}
    present = set(cells.kpi_code) if not cells.empty else set()
    head = [html.Th(t("kpi", lang), className="kpi-head")]
    for o in orgs:
        link = header_link(o)
        label = [
            html.Div(o.name, className="org-name"),
            html.Div(level_label(o) if level_label else "", className="org-level"),
        ]
        cls = (
            "org-head current" if current is not None and (o.level, o.id) == (current.level, current.id) else "org-head"
        )
        if link:
            head.append(
                html.Th(
                    dcc.Link(label, href=link, className="drill-link", id=f"drill-{o.level}-{o.id}"),
                    className=cls + " drillable",
                    title=t("drill_hint", lang),
                )
            )
        else:
            head.append(html.Th(label, className=cls))
    body = []
    for fam, group in kpis.groupby("family", sort=True):
        rows = [k for k in group.to_dict("records") if show_empty_rows or k["kpi_code"] in present]
        if not rows:
            continue
        body.append(html.Tr(html.Td(family_label(fam, lang), colSpan=len(orgs) + 1, className="family-row")))
        for k in rows:
            tds = [
                html.Td(
                    [dcc.Link(kpi_name(k, lang), href=kpi_link(k)), html.Div(k["kpi_code"], className="kpi-code")],
                    className="kpi-name",
                )
            ]
            for o in orgs:
                tds.append(kpi_cell(by_key.get((k["kpi_code"], o.level, o.id)), k["unit"], lang))
            body.append(html.Tr(tds, **{"data-kpi": k["kpi_code"]}))
    cls = "scorecard narrow" if len(orgs) <= 2 else "scorecard"
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className=cls, id=table_id)


def scorecard_list(kpis: pd.DataFrame, orgs: list, cells: pd.DataFrame, lang: str, *, row_link, table_id: str):
    """Transposed matrix for long lists (member facilities): org rows × KPI columns."""
    by_key = {(r["kpi_code"], r["org_level"], r["org_id"]): r for r in cells.to_dict("records")}
    ks = [k for k in kpis.to_dict("records") if k["kpi_code"] in set(cells.kpi_code)]
    head = [html.Th(t("org", lang), className="kpi-head")] + [
        html.Th(kpi_name(k, lang), className="org-head") for k in ks
    ]
    body = []
    for o in orgs:
        link = row_link(o)
        name = dcc.Link(o.name, href=link, id=f"drill-{o.level}-{o.id}") if link else o.name
        body.append(
            html.Tr(
                [html.Td(name, className="kpi-name")]
                + [kpi_cell(by_key.get((k["kpi_code"], o.level, o.id)), k["unit"], lang) for k in ks]
            )
        )
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="scorecard org-list", id=table_id)


AG_ZH = {
    "page": "第",
    "to": "至",
    "of": "共",
    "more": "更多",
    "next": "下一页",
    "previous": "上一页",
    "first": "首页",
    "last": "末页",
    "pageSizeSelectorLabel": "每页行数：",
    "noRowsToShow": "无数据",
    "loadingOoo": "加载中…",
    "filterOoo": "筛选…",
    "contains": "包含",
    "notContains": "不包含",
    "equals": "等于",
    "notEqual": "不等于",
    "startsWith": "开头是",
    "endsWith": "结尾是",
    "blank": "为空",
    "notBlank": "非空",
    "lessThan": "小于",
    "greaterThan": "大于",
    "inRange": "介于",
    "andCondition": "且",
    "orCondition": "或",
    "applyFilter": "应用",
    "resetFilter": "重置",
    "clearFilter": "清除",
    "pinColumn": "固定列",
    "autosizeThisColumn": "自动列宽",
}


def grid(
    df: pd.DataFrame,
    grid_id: str,
    labels: dict[str, str] | None = None,
    height: int = 420,
    col_defs: list[dict] | None = None,
    lang: str = "zh",
):
    labels = labels or {}
    if col_defs is None:
        col_defs = [{"field": c, "headerName": labels.get(c, c)} for c in df.columns]
    data = df.copy()
    for c in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[c]):
            data[c] = data[c].dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        elif data[c].dtype == object:
            data[c] = data[c].map(lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v))
    data = data.astype(object).where(pd.notna(data), None)
    return dag.AgGrid(
        id=grid_id,
        rowData=data.to_dict("records"),
        columnDefs=col_defs,
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
        columnSize="autoSize",
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": 50,
            "enableCellTextSelection": True,
            **({"localeText": AG_ZH} if lang == "zh" else {}),
        },
        style={"height": f"{height}px", "width": "100%"},
    )


def grid_card(
    title: str,
    df: pd.DataFrame,
    grid_id: str,
    labels: dict[str, str],
    lang: str,
    height: int = 420,
    col_defs: list[dict] | None = None,
):
    """A card with a heading and the rows in a `grid`, or "none found" when there are none."""
    body = (
        grid(df, grid_id, labels, height=height, col_defs=col_defs, lang=lang)
        if not df.empty
        else html.P(t("none_found", lang))
    )
    return html.Div([html.H3(title), body], className="card")


def simple_table(df: pd.DataFrame, labels: dict[str, str], table_id: str | None = None, row_class=None):
    head = html.Thead(html.Tr([html.Th(labels.get(c, c)) for c in df.columns]))
    rows = []
    for r in df.to_dict("records"):
        rows.append(html.Tr([html.Td(r[c]) for c in df.columns], className=row_class(r) if row_class else None))
    return html.Table([head, html.Tbody(rows)], className="data-table", id=table_id)


def neutralise(v):
    """CSV/Excel formula injection: text starting with = + - @ (or tab/CR) gets a leading apostrophe."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v
