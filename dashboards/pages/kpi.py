"""KPI detail: trend with the target line per year, numerator/denominator, peer distribution, definition."""

from __future__ import annotations

import dash
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from dashboards import frame, trust
from dashboards.components import (
    STATUS_COLOURS,
    UNIT_LABELS,
    fmt_number,
    fmt_ts,
    fmt_value,
    kpi_name,
    month_label,
    month_str,
    provisional_mark,
    status_label,
)
from dashboards.controls import control, period_type_control, picker, qp, requested_or_latest
from dashboards.i18n import family_label, feed_label, pick, t
from dashboards.queries import LEVEL_ORDER, Org, Queries, parse_month
from dashboards.scorecard import out_of_scope_notice

dash.register_page(__name__, path="/kpi", name="nav_kpi", order=1)

STATUS_LINE = {"green": "#2e7d32", "amber": "#f0a500", "red": "#c62828"}


def resolve(q: Queries, p: dict):
    kpis = q.kpis()
    code = p.get("code") if p.get("code") in set(kpis.kpi_code) else (kpis.kpi_code.iloc[0] if len(kpis) else None)
    if code is None:
        return None, None, None, None
    levels = q.kpi_levels(code)
    org = None
    if p.get("level") in levels and p.get("org") and q.in_scope(p["level"], p["org"]):
        org = q.org(p["level"], p["org"])
    if org is None:
        root = q.root()
        if root and root.level in levels:
            org = root
        else:  # the KPI is not computed at the root level: take the first org of its top level in scope
            for lvl in levels:
                cands = q.orgs()[q.orgs().org_level == lvl]
                for r in cands.itertuples():
                    if q.in_scope(lvl, r.org_id):
                        org = Org(lvl, str(r.org_id), str(r.name))
                        break
                if org:
                    break
    types = q.kpi_period_types(code)
    pt = p.get("pt") if p.get("pt") in types else (types[0] if types else "month")
    return code, org, pt, types


def trend_figure(tr: pd.DataFrame, k: dict, lang: str, title: str) -> go.Figure:
    fig = go.Figure()
    unit = k["unit"]
    scale = 100.0 if unit == "fraction" else 1.0
    x = pd.to_datetime(tr.period)
    fig.add_trace(
        go.Scatter(
            x=list(x),
            y=(tr.value.astype(float) * scale).tolist(),
            mode="lines+markers",
            name=t("value", lang),
            line={"color": "#1f5fa8", "width": 2.5},
            marker={"size": 8, "color": [STATUS_LINE.get(s, "#7f8c8d") for s in tr.status]},
            customdata=np.stack([tr.numerator.astype(float), tr.denominator.astype(float)], axis=-1),
            hovertemplate="%{x|%Y-%m}: %{y:.1f}"
            + ("%" if unit == "fraction" else "")
            + f"<br>{t('numerator', lang)} %{{customdata[0]:,.0f}} / {t('denominator', lang)} %{{customdata[1]:,.0f}}"
            + "<extra></extra>",
        )
    )
    if tr.target.notna().any():
        # one horizontal segment per month: the target in force for that month's year (step between years)
        fig.add_trace(
            go.Scatter(
                x=list(x),
                y=(tr.target.astype(float) * scale).tolist(),
                mode="lines",
                name=t("target_line", lang),
                line={"color": "#c62828", "dash": "dash", "width": 2, "shape": "hv"},
                connectgaps=False,
                hovertemplate=f"{t('target', lang)} %{{y:.1f}}"
                + ("%" if unit == "fraction" else "")
                + "<extra></extra>",
            )
        )
        for year, g in tr.assign(_x=x).groupby(x.dt.year):
            tv = g.target.dropna()
            if not tv.empty:
                fig.add_annotation(
                    x=g._x.iloc[0],
                    y=float(tv.iloc[0]) * scale,
                    yshift=12,
                    showarrow=False,
                    xanchor="left",
                    font={"color": "#c62828", "size": 11},
                    text=f"{year} {t('target', lang)} {fmt_value(tv.iloc[0], unit, lang)}",
                )
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        yaxis={"ticksuffix": "%" if unit == "fraction" else "", "gridcolor": "#e5e8ec", "zeroline": False},
        xaxis={"tickformat": "%Y-%m", "gridcolor": "#f0f2f5"},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
    )
    return fig


def distribution(peers: pd.DataFrame, org: Org, k: dict, lang: str):
    vals = peers.value.dropna().astype(float)
    if vals.empty:
        return html.P(t("no_data_month", lang)), None
    unit = k["unit"]
    scale = 100.0 if unit == "fraction" else 1.0
    q1, med, q3 = np.percentile(vals, [25, 50, 75])
    fig = go.Figure()
    fig.add_trace(
        go.Box(
            x=vals * scale,
            name="",
            boxpoints="all",
            jitter=0.4,
            pointpos=0,
            orientation="h",
            marker={"color": "#1f5fa8", "size": 7},
            line={"color": "#1f5fa8"},
            fillcolor="rgba(31,95,168,0.12)",
            text=list(peers.dropna(subset=["value"]).name),
            hovertemplate="%{text}: %{x:.1f}<extra></extra>",
        )
    )
    me = peers[peers.org_id.astype(str) == org.id]
    if not me.empty and pd.notna(me.value.iloc[0]):
        fig.add_trace(
            go.Scatter(
                x=[float(me.value.iloc[0]) * scale],
                y=[""],
                mode="markers",
                name=org.name,
                marker={"color": "#c62828", "size": 14, "symbol": "diamond"},
            )
        )
    tv = peers.target.dropna()
    if not tv.empty:
        fig.add_vline(
            x=float(tv.iloc[0]) * scale,
            line_dash="dash",
            line_color="#c62828",
            annotation_text=t("target", lang),
            annotation_font_color="#c62828",
        )
    fig.update_layout(
        height=260,
        margin={"l": 30, "r": 20, "t": 30, "b": 40},
        showlegend=False,
        plot_bgcolor="#fff",
        xaxis={"ticksuffix": "%" if unit == "fraction" else "", "gridcolor": "#e5e8ec"},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    )
    stats = [
        ("n_units", str(len(vals))),
        ("min", fmt_value(vals.min(), unit, lang)),
        ("q1", fmt_value(q1, unit, lang)),
        ("median", fmt_value(med, unit, lang)),
        ("q3", fmt_value(q3, unit, lang)),
        ("max", fmt_value(vals.max(), unit, lang)),
    ]
    table = html.Table(
        [html.Tbody([html.Tr([html.Th(t(s, lang)), html.Td(v)]) for s, v in stats])],
        className="data-table stats",
        id="peer-stats",
    )
    return dcc.Graph(figure=fig, id="kpi-distribution", config={"displaylogo": False}), table


def _value_td(row: dict, unit: str, lang: str):
    """The value of one period, with the provisional mark and its tooltip when its data is incomplete."""
    prov = trust.tooltip(row, lang)
    value = fmt_value(row.get("value"), unit, lang)
    if not prov:
        return html.Td(value)
    return html.Td([value, " ", provisional_mark(prov, lang)], className="provisional")


def definition_card(q: Queries, k: dict, lang: str):
    feeds = str(k.get("source_feeds") or "").replace(",", " ").split()
    last = q.last_load(feeds or None)
    rows = [
        ("kpi", f"{k['name_zh']} / {k['name_en']}"),
        ("family", family_label(k["family"], lang)),
        ("unit", pick(UNIT_LABELS.get(k["unit"]), lang, str(k["unit"]))),
        (
            "direction",
            {
                ">=": t("better_higher", lang),
                "<=": t("better_lower", lang),
            }.get(k["direction"], "—"),
        ),
        ("formula_zh", k["formula_zh"]),
        ("formula_en", k["formula_en"]),
        (
            "source_feeds",
            t("list_sep", lang).join(f"{feed_label(f, lang)} ({f})" for f in feeds),
        ),
        ("policy_ref", k.get("policy_ref") or "—"),
        ("last_load", fmt_ts(last)),
    ]
    return html.Div(
        [
            html.H3(t("definition", lang)),
            html.Table(
                html.Tbody([html.Tr([html.Th(t(key, lang)), html.Td(str(v), id=f"def-{key}")]) for key, v in rows]),
                className="data-table definition",
            ),
        ],
        className="card",
        id="definition-card",
    )


def content(q: Queries, p: dict, lang: str):
    code, org, pt, types = resolve(q, p)
    if code is None or org is None:
        return html.Div(t("no_data_month", lang), className="empty")
    k = q.kpi(code)
    kpis = q.kpis()
    tr = q.trend(code, org.level, org.id, pt)
    months = sorted({pd.Timestamp(x).date() for x in tr.period}) if not tr.empty else []
    month = requested_or_latest(parse_month(p.get("month")), months)
    # org picker: every org in scope at the KPI's levels
    o = q.orgs()
    org_opts = []
    for lvl in q.kpi_levels(code):
        for r in o[o.org_level == lvl].sort_values("org_id").itertuples():
            if q.in_scope(lvl, r.org_id):
                org_opts.append({"label": f"{t('lvl_' + lvl, lang)} · {r.name}", "value": f"{lvl}:{r.org_id}"})
    title = f"{org.name} · {kpi_name(k, lang)}"
    ctrl = html.Div(
        [
            control(
                t("choose_kpi", lang),
                dcc.Dropdown(
                    id=qp("code"),
                    value=code,
                    clearable=False,
                    options=[
                        {"label": f"{r.family} · {r.name_zh if lang == 'zh' else r.name_en}", "value": r.kpi_code}
                        for r in kpis.itertuples()
                    ],
                    className="kpi-picker",
                ),
                wide=True,
            ),
            control(
                t("org", lang),
                dcc.Dropdown(
                    id=qp("lo"),
                    value=f"{org.level}:{org.id}",
                    options=org_opts,
                    clearable=False,
                    className="org-picker",
                ),
                wide=True,
            ),
            period_type_control(pt, types, lang),
        ],
        className="controls",
    )
    body = [
        html.H2([kpi_name(k, lang), html.Span(f" · {k['kpi_code']}", className="subtitle")]),
        out_of_scope_notice(q, p, lang),
        ctrl,
    ]
    if tr.empty:
        body.append(html.P(t("no_data_month", lang), className="empty"))
        body.append(definition_card(q, k, lang))
        return html.Div(body, id="kpi-page")
    fig = trend_figure(tr, k, lang, f"{title} · {t('trend', lang)}")
    # numerator / denominator table, newest first
    unit = k["unit"]
    rows = []
    for r in tr.sort_values("period", ascending=False).itertuples():
        bg, fg = STATUS_COLOURS.get(r.status, STATUS_COLOURS["none"])
        per = pd.Timestamp(r.period).date()
        rows.append(
            html.Tr(
                [
                    html.Td(str(per.year) if pt == "year" else month_label(per, lang)),
                    html.Td(fmt_number(r.numerator, 0 if unit != "yuan" else 2)),
                    html.Td(
                        fmt_number(
                            r.denominator,
                            0 if unit not in ("yuan",) and k["kpi_code"] != "fund_budget_execution" else 2,
                        )
                    ),
                    _value_td(r._asdict(), unit, lang),
                    html.Td(fmt_value(r.target, unit, lang)),
                    html.Td(status_label(r.status, lang), style={"background": bg, "color": fg}),
                ]
            )
        )
    nd_table = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(t(c, lang))
                        for c in (
                            "month" if pt != "year" else "year",
                            "numerator",
                            "denominator",
                            "value",
                            "target",
                            "status",
                        )
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        className="data-table",
        id="numden-table",
    )
    # peers to compare: every level below the top (cities are peers only in a province)
    top = q.top()
    levels = [
        lv for lv in q.kpi_levels(code) if lv != "province" and (lv != "city" or (top and top.level == "province"))
    ]
    levels = levels or [org.level]
    peer_level = (
        p.get("dl")
        if p.get("dl") in levels
        else (org.level if org.level in levels else ("community" if "community" in levels else levels[0]))
    )
    peer_level_orgs = q.peers(code, peer_level, month, pt) if month else pd.DataFrame()
    dist, stats = (
        distribution(peer_level_orgs, org, k, lang)
        if not peer_level_orgs.empty
        else (html.P(t("no_data_month", lang)), None)
    )
    month_pick = dcc.Dropdown(
        id=qp("month"),
        value=month_str(month),
        clearable=False,
        options=[
            {"label": str(m.year) if pt == "year" else month_label(m, lang), "value": month_str(m)}
            for m in reversed(months)
        ],
        className="month-picker",
    )
    body += [
        html.Div(dcc.Graph(figure=fig, id="kpi-trend", config={"displaylogo": False}), className="card"),
        html.Div(
            [
                html.Div(
                    [
                        html.H3(f"{t('distribution', lang)} · {t('lvl_' + peer_level, lang)}"),
                        html.Div(
                            [
                                control(t("month", lang), month_pick),
                                control(
                                    t("peer_units", lang),
                                    picker(
                                        "dl",
                                        peer_level,
                                        [{"label": t("lvl_" + lv, lang), "value": lv} for lv in levels],
                                        "month-picker",
                                    ),
                                ),
                            ],
                            className="controls",
                        ),
                        dist,
                        stats,
                    ],
                    className="card half",
                ),
                definition_card(q, k, lang),
            ],
            className="two-col",
        ),
        html.Div(
            [
                html.H3(f"{t('numerator', lang)} / {t('denominator', lang)}"),
                html.Div(nd_table, className="table-scroll tall"),
            ],
            className="card",
        ),
    ]
    closed = closed_card(q, code, org, pt, tr, unit, lang)
    if closed is not None:
        body.append(closed)
    return html.Div(body, id="kpi-page")


def closed_card(q: Queries, code: str, org: Org, pt: str, tr: pd.DataFrame, unit: str | None, lang: str):
    """Closed values of this cell (every close and revision) beside today's value; None without closes."""
    hist = q.closed_history(code, org.level, org.id)
    if hist.empty:
        return None
    hist = hist[hist.period_type == pt]
    if hist.empty:
        return None
    now = {pd.Timestamp(r.period).date(): r for r in tr.itertuples()}
    rows = []
    for r in hist.sort_values(["closed_month", "revision"], ascending=False).itertuples():
        per = pd.Timestamp(r.period).date()
        cur = now.get(per)
        cur_value = cur.value if cur is not None else None
        cur_status = cur.status if cur is not None else None
        changed = (
            cur is None
            or (pd.isna(r.value) != pd.isna(cur_value))
            or (not pd.isna(r.value) and round(float(r.value), 9) != round(float(cur_value), 9))
            or r.status != cur_status
        )
        rows.append(
            html.Tr(
                [
                    html.Td(f"{pd.Timestamp(r.closed_month):%Y-%m} r{int(r.revision)}"),
                    html.Td(str(per.year) if pt == "year" else month_label(per, lang)),
                    html.Td(fmt_value(r.value, unit, lang)),
                    html.Td(fmt_value(cur_value, unit, lang)),
                    html.Td(
                        status_label(r.status, lang)
                        if r.status == cur_status
                        else f"{status_label(r.status, lang)} → {status_label(cur_status, lang)}"
                    ),
                ],
                className="restated-row" if changed else None,
            )
        )
    head = [t("rs_closed_month", lang), t("month", lang), t("closed_value", lang), t("current_value", lang)]
    table = html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in [*head, t("status", lang)]])), html.Tbody(rows)],
        className="data-table",
        id="closed-vs-current",
    )
    return html.Div([html.H3(t("closed_vs_current", lang)), table], className="card", id="closed-card")


def level_sort(levels):
    return sorted(levels, key=lambda x: LEVEL_ORDER.get(x, 9))


layout = frame.page_layout(content, cache=True)
