"""League tables: for each scored KPI the counties (or the communities of a county) ranked in the KPI's
direction, with the change in rank since the previous month and the gap to target, and the weighted
composite ranking with its weights and formula. The same computation and wording as the bulletin PDF
(medcom.closing.league, medcom.bulletin.league_view). A closed month shows its closed figures by
default, with the closed / current switch of the scorecard."""

from __future__ import annotations

import dash
from dash import html

from dashboards import frame
from dashboards.components import STATUS_COLOURS, month_label, month_str
from dashboards.controls import control, picker, requested_or_latest
from dashboards.i18n import t
from dashboards.queries import parse_month
from dashboards.scorecard import close_banner, figures_of

dash.register_page(__name__, path="/league", name="nav_league", order=1.5)


def _choice_value(level: str, parent: str | None) -> str:
    return "county" if level == "county" else f"community:{parent}"


def _table(head: list[str], rows: list[list], table_id: str, styles: list[dict | None] | None = None):
    body = []
    for i, r in enumerate(rows):
        style = (styles or [None] * len(rows))[i]
        body.append(
            html.Tr(
                [
                    html.Td(v, className="n" if j != 1 else None, style=style if j == 2 else None)
                    for j, v in enumerate(r)
                ]
            )
        )
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)], className="data-table league", id=table_id
    )


def content(q, p, lang):
    from medcom.bulletin import league_view

    month = requested_or_latest(parse_month(p.get("month")), q.months())
    choices = q.league_choices()
    if month is None or not choices:
        return html.Div(t("no_data_month", lang), className="empty")
    values = [_choice_value(lv, par) for lv, par in choices]
    chosen = p.get("league") if p.get("league") in values else values[0]
    level, parent = choices[values.index(chosen)]
    fig, close = figures_of(q, p, month)
    lt = q.league(month, level, parent, fig)
    state = {**p, "month": month_str(month), "league": chosen, "lang": lang}

    def label(lv, par):
        return (
            t("league_counties", lang)
            if lv == "county"
            else t("league_communities", lang, county=q.name("county", par))
        )

    months = q.months()
    controls = html.Div(
        [
            control(
                t("month", lang),
                picker(
                    "month",
                    month_str(month),
                    [{"label": month_label(m, lang), "value": month_str(m)} for m in reversed(months)],
                    "month-picker",
                ),
            ),
            control(
                t("league_of", lang),
                picker(
                    "league",
                    chosen,
                    [{"label": label(lv, par), "value": v} for (lv, par), v in zip(choices, values, strict=True)],
                    "league-picker",
                ),
                wide=True,
            ),
        ],
        className="controls",
    )
    parts = [
        html.H2([t("league_title", lang), html.Span(f" · {month_label(month, lang)}", className="subtitle")]),
        controls,
        close_banner(q, month, fig, close, "/league", state, lang),
        html.P(t("league_intro", lang), className="hint"),
    ]
    if lt is None or not lt["tables"]:
        parts.append(html.Div(t("league_none", lang), className="empty", id="league-none"))
        return html.Div(parts, id="league-page")
    v = league_view(lt, lt["kpis"], lang)
    parts.append(
        html.Div(
            [
                html.H3(f"{t('league_composite', lang)} · {label(level, parent)}"),
                html.P(v["formula"], className="hint", id="league-formula"),
                html.P(
                    f"{t('league_weights', lang)}: " + "; ".join(f"{w['name']} ×{w['weight']}" for w in v["weights"]),
                    className="hint",
                    id="league-weights",
                ),
                _table(
                    [t(k, lang) for k in ("lg_rank", "lg_org", "lg_score", "lg_kpis", "lg_change")],
                    [[r["rank"], r["name"], r["score"], r["kpis"], r["change"]] for r in v["composite"]],
                    "league-composite",
                ),
            ],
            className="card",
        )
    )
    head = [t(k, lang) for k in ("lg_rank", "lg_org", "lg_value", "lg_target", "lg_gap", "lg_change")]
    cards = []
    for tb in v["tables"]:
        styles = []
        for r in tb["rows"]:
            bg, fg = STATUS_COLOURS.get(r["status"], STATUS_COLOURS["none"])
            styles.append({"background": bg, "color": fg})
        cards.append(
            html.Div(
                [
                    html.H4([tb["name"], html.Small(f" ({tb['period']})")]),
                    _table(
                        head,
                        [[r["rank"], r["name"], r["value"], r["target"], r["gap"], r["change"]] for r in tb["rows"]],
                        f"league-{tb['code']}",
                        styles,
                    ),
                ],
                className="card league-card",
            )
        )
    parts.append(html.Div(cards, className="league-grid"))
    return html.Div(parts, id="league-page")


layout = frame.page_layout(content, cache=True)
