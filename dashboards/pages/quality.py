"""Data quality: batches and verdicts, failed expectations, quarantined rows, replacements, completeness."""

from __future__ import annotations

import dash
import pandas as pd
from dash import html

from dashboards import frame
from dashboards.components import grid_card
from dashboards.controls import control, picker, year_control, year_param
from dashboards.i18n import feed_label, t
from dashboards.queries import DEFAULT_LATE_DAY

dash.register_page(__name__, path="/quality", name="nav_quality", order=4)

STATE_STYLE = {
    "received": ("#d4edda", "#155724", "✓"),
    "late": ("#fff3cd", "#7a5a00", "迟"),
    "rejected": ("#f8d7da", "#842029", "✗"),
    "missing": ("#f1c0c5", "#842029", "缺"),
    "not_due": ("#f8f9fa", "#adb5bd", "·"),
    "na": ("#ffffff", "#ced4da", "–"),
    "none": ("#ffffff", "#adb5bd", "○"),
}
STATE_EN = {"received": "✓", "late": "L", "rejected": "✗", "missing": "M", "not_due": "·", "na": "–", "none": "○"}


def _cell(r, lang):
    bg, fg, mark = STATE_STYLE[r.state]
    title = t("c_" + r.state, lang)
    if not pd.isna(r.first_received):
        title += f" · {r.first_received:%Y-%m-%d}"
    return html.Td(
        mark if lang == "zh" else STATE_EN[r.state],
        style={"background": bg, "color": fg},
        className=f"cg cg-{r.state}",
        title=title,
    )


def _rows(cg, lang, cells):
    body = []
    for feed, g in cg.groupby("feed", sort=False):
        first = True
        for _, gc in g.groupby("county", sort=False):
            tds = []
            if first:
                tds.append(html.Td(feed_label(feed, lang), rowSpan=g.county.nunique(), className="feed-cell"))
                first = False
            tds.append(html.Td(gc.county_name.iloc[0]))
            tds += cells(gc)
            body.append(html.Tr(tds))
    return body


def completeness_grid(cg, lang):
    monthly, yearly = cg[cg.month > 0], cg[cg.month == 0]
    head = html.Thead(
        html.Tr(
            [html.Th(t("feed", lang)), html.Th(t("county", lang))]
            + [html.Th(t("month_n", lang, m=m)) for m in range(1, 13)]
        )
    )
    body = _rows(monthly, lang, lambda gc: [_cell(r, lang) for r in gc.sort_values("month").itertuples()])
    leg = html.Div(
        [
            html.Span(
                f"{STATE_STYLE[s][2] if lang == 'zh' else STATE_EN[s]} {t('c_' + s, lang)}",
                className="legend-item",
                style={"background": STATE_STYLE[s][0], "color": STATE_STYLE[s][1]},
            )
            for s in STATE_STYLE
        ],
        className="legend",
    )
    parts = [leg, html.Table([head, html.Tbody(body)], className="data-table completeness", id="completeness-grid")]
    if not yearly.empty:
        yhead = html.Thead(
            html.Tr([html.Th(t("feed", lang)), html.Th(t("county", lang)), html.Th(t("whole_year", lang))])
        )
        ybody = _rows(yearly, lang, lambda gc: [_cell(r, lang) for r in gc.itertuples()])
        parts += [
            html.H4(t("yearly_feeds", lang), className="subhead"),
            html.Table([yhead, html.Tbody(ybody)], className="data-table completeness", id="completeness-yearly"),
        ]
    return html.Div(parts)


def content(q, p, lang):
    years = q.batch_years()
    year = year_param(p, years)
    try:
        late_day = max(1, min(28, int(p.get("late", DEFAULT_LATE_DAY))))
    except ValueError:
        late_day = DEFAULT_LATE_DAY
    b = q.batches()
    verdict_labels = {v: t("v_" + v, lang) for v in ("accepted", "accepted_with_quarantine", "rejected", "duplicate")}
    if not b.empty:
        b = b.copy()
        b["verdict"] = b.verdict.map(lambda v: verdict_labels.get(v, v))
        b["feed"] = b.feed.map(lambda f: f"{feed_label(f, lang)} ({f})")
        keep = [
            c
            for c in (
                "received_at",
                "feed",
                "file_name",
                "verdict",
                "rows_read",
                "rows_loaded",
                "rows_quarantined",
                "reasons",
                "coverage",
                "batch_id",
            )
            if c in b
        ]
        b = b[keep]
    labels = {
        "received_at": t("received_at", lang),
        "feed": t("feed", lang),
        "file_name": t("file", lang),
        "verdict": t("verdict", lang),
        "rows_read": t("rows_read", lang),
        "rows_loaded": t("rows_loaded", lang),
        "rows_quarantined": t("rows_quarantined", lang),
        "reasons": t("reasons", lang),
        "reason": t("reason", lang),
    }
    verdict_style = {
        "function": "params.value && params.value.indexOf('"
        + verdict_labels["rejected"]
        + "') === 0 ? {'backgroundColor': '#f8d7da'} : (params.value && params.value.indexOf('"
        + verdict_labels["accepted_with_quarantine"]
        + "') === 0 ? {'backgroundColor': '#fff3cd'} : {})"
    }
    bcols = [
        {"field": c, "headerName": labels.get(c, c), **({"cellStyle": verdict_style} if c == "verdict" else {})}
        for c in b.columns
    ]
    fe, qr, rp = q.failed_expectations(), q.quarantine(), q.replacements()
    parts = [
        html.H2(t("quality_title", lang)),
        html.Div(
            [
                year_control(year, years, lang),
                control(
                    t("late_after_day", lang),
                    picker("late", late_day, [{"label": str(d), "value": d} for d in range(1, 29)], "day-picker"),
                ),
            ],
            className="controls",
        ),
    ]
    if year is not None:
        cg = q.completeness(year, late_day)
        grid = (
            completeness_grid(cg, lang)
            if not cg.empty
            else html.Div(t("completeness_rebuild", lang), className="empty", id="completeness-rebuild")
        )
        parts.append(
            html.Div(
                [
                    html.H3(f"{t('completeness', lang)} · {year}"),
                    html.P(t("completeness_hint", lang, day=late_day), className="hint"),
                    html.Div(grid, className="table-scroll"),
                ],
                className="card",
            )
        )
    parts += [
        grid_card(f"{t('batches', lang)} ({len(b)})", b, "batches-grid", labels, lang, col_defs=bcols),
        grid_card(f"{t('failed_expectations', lang)} ({len(fe)})", fe, "dq-grid", labels, lang, height=300),
        grid_card(f"{t('quarantine', lang)} ({len(qr)})", qr, "quarantine-grid", labels, lang, height=300),
        grid_card(f"{t('replacements', lang)} ({len(rp)})", rp, "replacements-grid", labels, lang, height=240),
    ]
    return html.Div(parts, id="quality-page")


layout = frame.page_layout(content, cache=True)
