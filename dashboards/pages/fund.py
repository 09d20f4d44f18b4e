"""Insurance fund: per community cumulative spend vs pro-rated budget and prepayments; year-end projection."""

from __future__ import annotations

import math

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from dashboards import frame
from dashboards.components import fmt_ts, fmt_yuan
from dashboards.controls import year_control, year_param
from dashboards.i18n import t

dash.register_page(__name__, path="/fund", name="nav_fund", order=2)


def figure(monthly: pd.DataFrame, lang: str) -> go.Figure:
    comms = list(dict.fromkeys(monthly.sort_values(["county", "org_id"]).org_id))
    names = monthly.drop_duplicates("org_id").set_index("org_id").name.to_dict()
    cols = 2 if len(comms) > 1 else 1
    rows = math.ceil(len(comms) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[names[c] for c in comms],
        shared_xaxes=False,
        vertical_spacing=min(0.12, 0.5 / max(rows, 1)),
        horizontal_spacing=0.08,
    )
    for i, c in enumerate(comms):
        g = monthly[monthly.org_id == c].sort_values("period")
        r, col = i // cols + 1, i % cols + 1
        first = i == 0
        fig.add_traces(
            [
                go.Scatter(
                    x=g.period,
                    y=g.spend_ytd / 1e4,
                    name=t("cum_spend", lang),
                    legendgroup="s",
                    showlegend=first,
                    line={"color": "#1f5fa8", "width": 2.5},
                ),
                go.Scatter(
                    x=g.period,
                    y=g.budget_ytd / 1e4,
                    name=t("cum_budget", lang),
                    legendgroup="b",
                    showlegend=first,
                    line={"color": "#c62828", "dash": "dash"},
                ),
                go.Bar(
                    x=g.period,
                    y=g.prepaid_ytd / 1e4,
                    name=t("cum_prepaid", lang),
                    legendgroup="p",
                    showlegend=first,
                    marker_color="rgba(120,144,156,0.35)",
                ),
            ],
            rows=r,
            cols=col,
        )
    fig.update_layout(
        height=max(340, 280 * rows + 60),
        margin={"l": 50, "r": 20, "t": 90, "b": 40},
        barmode="overlay",
        legend={"orientation": "h", "yref": "container", "y": 0.995, "yanchor": "top", "x": 0},
        plot_bgcolor="#fff",
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    )
    fig.update_yaxes(title_text=t("ten_thousand_yuan", lang), gridcolor="#e5e8ec")
    fig.update_xaxes(tickformat="%m" if lang == "zh" else "%b")
    return fig


def summary_table(s: pd.DataFrame, lang: str):
    cols = [
        "name",
        "annual_budget",
        "budget_ytd",
        "spend_ytd",
        "prepaid_ytd",
        "execution",
        "projected_balance",
        "balance_state",
    ]
    labels = {
        "name": t("org", lang),
        "annual_budget": t("annual_budget", lang),
        "budget_ytd": t("budget_ytd", lang),
        "spend_ytd": t("spend_ytd", lang),
        "prepaid_ytd": t("prepaid_ytd", lang),
        "execution": t("execution", lang),
        "projected_balance": t("projected_balance", lang),
        "balance_state": t("balance_state", lang),
    }
    body = []
    order = []
    for city in sorted(set(s.city)):  # each city's counties, then the city; the province last
        for county in s[(s.level == "county") & (s.city == city)].org_id:
            order += list(s[(s.level == "community") & (s.county == county)].index) + list(
                s[(s.level == "county") & (s.org_id == county)].index
            )
        order += list(s[(s.level == "city") & (s.org_id == city)].index)
    order += list(s[s.level == "province"].index)
    for i in order:
        r = s.loc[i]
        bal = r.projected_balance
        state = "" if pd.isna(bal) else (t("surplus", lang) if bal >= 0 else t("overrun", lang))
        cls = {"community": "", "county": "subtotal", "city": "total", "province": "total"}[r.level]
        name = r["name"] if r.level == "community" else f"{r['name']} {t('subtotal', lang)}"
        body.append(
            html.Tr(
                [
                    html.Td(name),
                    html.Td(fmt_yuan(r.annual_budget)),
                    html.Td(fmt_yuan(r.budget_ytd)),
                    html.Td(fmt_yuan(r.spend_ytd)),
                    html.Td(fmt_yuan(r.prepaid_ytd)),
                    html.Td("—" if pd.isna(r.execution) else f"{r.execution * 100:.1f}%"),
                    html.Td(fmt_yuan(bal), className="neg" if (not pd.isna(bal) and bal < 0) else "pos"),
                    html.Td(state, className="overrun" if state == t("overrun", lang) else "surplus"),
                ],
                className=cls,
                **{"data-level": r.level, "data-org": str(r.org_id)},
            )
        )
    return html.Table(
        [html.Thead(html.Tr([html.Th(labels[c]) for c in cols])), html.Tbody(body)],
        className="data-table num",
        id="fund-summary",
    )


def content(q, p, lang):
    years = q.fund_years()
    year = year_param(p, years)
    if year is None:
        return html.Div(t("no_data_month", lang), className="empty")
    data = q.fund(year)
    s, m = data["summary"], data["monthly"]
    asof = fmt_ts(s.period.max())[:7] if not s.empty else ""
    ctrl = html.Div([year_control(year, years, lang)], className="controls")
    note = t("fund_note", lang)
    if s.empty:
        return html.Div([html.H2(t("fund_title", lang)), ctrl, html.P(t("no_data_month", lang))], id="fund-page")
    return html.Div(
        [
            html.H2([t("fund_title", lang), html.Span(f" · {year} · {t('month', lang)} {asof}", className="subtitle")]),
            ctrl,
            html.Div([summary_table(s, lang), html.P(note, className="hint")], className="card table-scroll"),
            html.Div(
                dcc.Graph(figure=figure(m, lang), id="fund-chart", config={"displaylogo": False}), className="card"
            ),
        ],
        id="fund-page",
    )


layout = frame.page_layout(content, cache=True)
