"""Scorecard export to XLSX (one sheet per level shown, status colours) and the printable monthly report.

Both show the figures the scorecard shows: of a closed month its closed figures (newest revision)
unless the URL asks for `fig=current`, with the close named at the top and restated cells marked
(old → new, the correction files), as on the scorecard.
"""

from __future__ import annotations

import html as h
import io
from datetime import date, datetime

import pandas as pd

from dashboards import trust
from dashboards.components import (
    STATUS_COLOURS,
    XLSX_STATUS,
    fmt_target,
    fmt_value,
    kpi_name,
    month_label,
    neutralise,
    params,
    status_label,
)
from dashboards.i18n import family_label, norm_lang, t
from dashboards.queries import Org, Queries
from dashboards.scorecard import figures_of, resolve, view


def _sheet_name(org: Org, lang: str, used: set[str]) -> str:
    base = f"{t('lvl_' + org.level, lang)}-{org.name}"
    for ch in "[]:*?/\\":
        base = base.replace(ch, "_")
    name = base[:31]
    i = 2
    while name in used:
        name = f"{base[:28]}~{i}"
        i += 1
    used.add(name)
    return name


def export_scorecard(search: str | None, scope=None) -> dict | None:
    """dcc.Download payload: the XLSX of the scorecard view in the URL, in `scope`."""
    from dash import dcc

    p = params(search)
    lang = norm_lang(p.get("lang"))
    with Queries(scope) as q:
        org, month, pt = resolve(q, p)
        if org is None or month is None:
            return None
        fig, _ = figures_of(q, p, month)
        data = scorecard_xlsx(q, org, month, pt, lang, fig)
    suffix = "_closed" if fig == "closed" else ""
    return dcc.send_bytes(data, f"scorecard_{month:%Y-%m}_{pt}_{org.id}{suffix}.xlsx")


def figures_line(q: Queries, month: date, fig: str, lang: str) -> str:
    """Which figures an export shows: 'closed on … (revision n)', '… · showing current figures' or
    'not closed'."""
    close = q.close_of(month)
    if close is None:
        return t("not_closed", lang)
    when = pd.Timestamp(close["closed_at"])
    text = t("closed_on", lang, date=f"{when:%Y-%m-%d %H:%M}", revision=int(close["revision"]))
    return text + (" · " + t("showing_current", lang) if fig == "current" else "")


def scorecard_xlsx(q: Queries, org: Org, month: date, pt: str, lang: str, fig: str = "current") -> bytes:
    """One sheet per level on the drill path to `org` (city → … → org), each with the org and its children.
    `fig="closed"`: the month's closed figures (restated cells marked either way)."""
    kpis = q.kpis()
    buf = io.BytesIO()
    import xlsxwriter

    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    fmt_head = wb.add_format(
        {
            "bold": True,
            "bg_color": "#1F4E79",
            "font_color": "#FFFFFF",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    fmt_fam = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    fmt_kpi = wb.add_format({"border": 1, "text_wrap": True, "valign": "vcenter"})
    fmt_title = wb.add_format({"bold": True, "font_size": 14})
    fmts = {
        s: wb.add_format({"bg_color": c, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True})
        for s, c in XLSX_STATUS.items()
    }
    used: set[str] = set()
    for node in q.path(org.level, org.id):
        if node.level in ("facility", "township") and node != org:
            continue
        ws = wb.add_worksheet(_sheet_name(node, lang, used))
        ws.write(0, 0, neutralise(f"{node.name} · {month_label(month, lang)} · {t('pt_' + pt, lang)}"), fmt_title)
        ws.write(1, 0, neutralise(figures_line(q, month, fig, lang)))
        row = 2
        for tb in view(q, node, month, pt, lang=lang, fig=fig):
            orgs, cells = tb["orgs"], tb["cells"]
            by = {(r["kpi_code"], r["org_level"], r["org_id"]): r for r in cells.to_dict("records")}
            present = set(cells.kpi_code) if not cells.empty else set()
            ws.write(row, 0, t("kpi", lang), fmt_head)
            ws.write(row, 1, t("unit", lang), fmt_head)
            for j, o in enumerate(orgs):
                ws.write(row, 2 + j * 2, neutralise(o.name), fmt_head)
                ws.write(row, 3 + j * 2, t("status", lang), fmt_head)
            row += 1
            for fam, g in kpis.groupby("family", sort=True):
                ks = [k for k in g.to_dict("records") if k["kpi_code"] in present]
                if not ks:
                    continue
                ws.merge_range(row, 0, row, 1 + 2 * len(orgs), family_label(fam, lang), fmt_fam)
                row += 1
                for k in ks:
                    ws.write(row, 0, neutralise(kpi_name(k, lang)), fmt_kpi)
                    ws.write(row, 1, k["unit"], fmt_kpi)
                    for j, o in enumerate(orgs):
                        c = by.get((k["kpi_code"], o.level, o.id))
                        if c is None:
                            ws.write_blank(row, 2 + j * 2, None, fmts["no_data"])
                            ws.write_blank(row, 3 + j * 2, None, fmts["no_data"])
                            continue
                        st = c.get("status") or "no_data"
                        text = fmt_value(c.get("value"), k["unit"], lang)
                        tg = fmt_target(c.get("target"), c.get("direction"), k["unit"], lang)
                        prov = trust.tooltip(c, lang)
                        if prov:  # the mark in the cell, what is missing in its comment
                            text += f" ({trust.mark_label(lang)})"
                        restated = c.get("_restated") if isinstance(c.get("_restated"), str) else ""
                        lines = [text, tg, restated]
                        ws.write(row, 2 + j * 2, "\n".join(x for x in lines if x), fmts.get(st, fmts["none"]))
                        comment = "\n".join(x for x in (prov, c.get("_restated_tip") if restated else "") if x)
                        if comment:
                            ws.write_comment(row, 2 + j * 2, neutralise(comment), {"x_scale": 3, "y_scale": 2})
                        label = status_label(st, lang)
                        if prov:
                            label += f" · {trust.mark_label(lang)}"
                        ws.write(row, 3 + j * 2, label, fmts.get(st, fmts["none"]))
                    row += 1
            row += 2
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 9)
        ws.set_column(2, 60, 14)
        ws.freeze_panes(3, 2)
    wb.close()
    return buf.getvalue()


CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;color:#222;margin:24px;font-size:12px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px;border-bottom:2px solid #1f4e79}
.meta{color:#666;margin-bottom:12px}
table{border-collapse:collapse;width:100%;margin-bottom:8px} th,td{border:1px solid #c8ccd0;padding:4px 6px}
th{background:#1f4e79;color:#fff;font-weight:600} td.fam{background:#d9e1f2;font-weight:600}
td.v{text-align:center;white-space:nowrap} .tg{font-size:10px;color:#555}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:3px}
.county{page-break-before:always}
.prov{font-size:10px;border:1px dashed currentColor;border-radius:3px;padding:0 3px}
.prov-notes{font-size:10px;color:#444;margin:0 0 8px 16px}
.restated{font-size:10px;color:#842029;font-style:italic}
.figures{font-weight:600;margin-bottom:8px}
@media print{body{margin:8mm}.noprint{display:none}}
@page{size:A4 landscape;margin:10mm}
"""


def _html_table(q: Queries, kpis: pd.DataFrame, tb: dict, lang: str) -> str:
    """The view's table; provisional cells carry the mark and a numbered note below the table."""
    orgs, cells = tb["orgs"], tb["cells"]
    notes: list[str] = []
    by = {(r["kpi_code"], r["org_level"], r["org_id"]): r for r in cells.to_dict("records")}
    present = set(cells.kpi_code) if not cells.empty else set()
    out = ["<table><thead><tr><th>", h.escape(t("kpi", lang)), "</th>"]
    out += [f"<th>{h.escape(o.name)}</th>" for o in orgs]
    out.append("</tr></thead><tbody>")
    for fam, g in kpis.groupby("family", sort=True):
        ks = [k for k in g.to_dict("records") if k["kpi_code"] in present]
        if not ks:
            continue
        out.append(f'<tr><td class="fam" colspan="{len(orgs) + 1}">{h.escape(family_label(fam, lang))}</td></tr>')
        for k in ks:
            out.append(f"<tr><td>{h.escape(kpi_name(k, lang))}</td>")
            for o in orgs:
                c = by.get((k["kpi_code"], o.level, o.id))
                if c is None:
                    out.append('<td class="v">·</td>')
                    continue
                st = c.get("status") or "no_data"
                bg, fg = STATUS_COLOURS.get(st, STATUS_COLOURS["none"])
                tg = fmt_target(c.get("target"), c.get("direction"), k["unit"], lang)
                prov = trust.tooltip(c, lang)
                mark, tip = "", status_label(st, lang)
                restated = c.get("_restated") if isinstance(c.get("_restated"), str) else ""
                if restated:
                    tip += "\n" + (c.get("_restated_tip") or "")
                    mark += f'<div class="restated">{h.escape(restated)}</div>'

                if prov:
                    notes.append(f"{kpi_name(k, lang)} · {o.name}: {prov}")
                    mark = (
                        f' <span class="prov" title="{h.escape(prov)}">{h.escape(trust.mark_label(lang))}<sup>{len(notes)}</sup></span>'
                        + mark
                    )
                    tip += "\n" + prov
                out.append(
                    f'<td class="v" style="background:{bg};color:{fg}" title="{h.escape(tip)}">'
                    f"{h.escape(fmt_value(c.get('value'), k['unit'], lang))}{mark}"
                    f'<div class="tg">{h.escape(tg)}</div></td>'
                )
            out.append("</tr>")
    out.append("</tbody></table>")
    if notes:
        out.append('<ol class="prov-notes">' + "".join(f"<li>{h.escape(n)}</li>" for n in notes) + "</ol>")
    return "".join(out)


def report_html(q: Queries, month: date, pt: str, lang: str, fig: str = "current") -> str:
    """Printable monthly report: the viewer's root scorecard (province, city or county), then each city's
    (in a province) and each county's table on its own page. `fig="closed"`: the closed figures."""
    root = q.root()
    kpis = q.kpis()
    title = t("report_title", lang, city=root.name if root else "")
    parts = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f"<title>{h.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{h.escape(title)}</h1>",
        f'<div class="meta">{h.escape(month_label(month, lang))} · {h.escape(t("pt_" + pt, lang))} · '
        f"{h.escape(t('generated', lang))} {datetime.now():%Y-%m-%d %H:%M}</div>",
        f'<div class="figures" id="report-figures" data-figures="{fig}">{h.escape(figures_line(q, month, fig, lang))}</div>',
        '<div class="legend">'
        + "".join(
            f'<span style="background:{STATUS_COLOURS[s][0]};color:{STATUS_COLOURS[s][1]}">'
            f"{h.escape(status_label(s, lang))}</span>"
            for s in STATUS_COLOURS
        )
        + f'<span class="prov">{h.escape(t("prov_legend", lang))}</span>'
        + "</div>",
        '<p class="noprint"><button onclick="window.print()">' + h.escape(t("print", lang)) + "</button></p>",
    ]
    if root is None:
        return "".join(parts) + "</body></html>"
    parts.append(f"<h2>{h.escape(root.name)}</h2>")
    for tb in view(q, root, month, pt, lang=lang, fig=fig):
        parts.append(_html_table(q, kpis, tb, lang))
    cities = q.children("province", root.id).get("city", []) if root.level == "province" else []
    if root.level == "city":
        cities = [root]
    for city in cities:
        if city is not root:
            parts.append(f'<div class="county"><h2>{h.escape(city.name)}</h2>')
            for tb in view(q, city, month, pt, lang=lang, fig=fig):
                parts.append(_html_table(q, kpis, tb, lang))
            parts.append("</div>")
        for county in q.children("city", city.id).get("county", []):
            parts.append(f'<div class="county"><h2>{h.escape(county.name)}</h2>')
            for tb in view(q, county, month, pt, lang=lang, fig=fig):
                parts.append(_html_table(q, kpis, tb, lang))
            parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)
