"""The monthly bulletin (通报) as a PDF: HTML from a Jinja2 template, typeset by WeasyPrint.

Content (`gather`): a cover (month; closed — with revision, date and user — or provisional),
the city's (or province's) scorecard with status colours, the county and composite league
tables, one section per county starting on a new page (its scorecard with its communities,
its red cells in plain sentences, the community league tables), and the restatements since
the last close. A county-scoped bulletin (`county=`) holds only that county's section and
its own restatements: no city, province or other-county figure.

The figures of a closed month are its newest closed revision; of any other month, today's. A cell
resting on incomplete or warned data (marts.kpi_cell_quality) carries the dashboard's provisional
mark with a numbered note saying what is missing (the dashboard's own wording, `dashboards.trust`),
and the scorecard legend explains the mark.
Fonts: Noto Sans CJK (Debian `fonts-noto-cjk`), embedded (subset) by WeasyPrint. A4, page
numbers in the footer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from medcom.bulletin.text import (
    fmt_change,
    fmt_signed_gap,
    fmt_target,
    fmt_value,
    period_label,
    red_sentence,
    t,
)
from medcom.cell_quality import with_quality
from medcom.closing.league import figures, league_tables, pick_period, previous_month
from medcom.closing.restatements import restatements
from medcom.errors import MedcomError

TEMPLATES = Path(__file__).parent / "templates"
MAX_RESTATED_ROWS = 300


def _orgs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cols = {r[0] for r in con.execute("DESCRIBE marts.dim_org").fetchall()}
    extra = ", county_code" if "county_code" in cols else ", NULL AS county_code"
    df = con.execute(f"SELECT org_level, org_id, name, parent_level, parent_id{extra} FROM marts.dim_org").df()
    df["org_id"] = df.org_id.astype(str)
    return df


def org_county(orgs: pd.DataFrame) -> dict[tuple[str, str], str | None]:
    """(level, id) → the county the org lies in (None for city / province)."""
    out: dict[tuple[str, str], str | None] = {}
    for r in orgs.itertuples():
        if r.org_level == "county":
            out[(r.org_level, r.org_id)] = r.org_id
        elif r.org_level in ("community", "township"):
            out[(r.org_level, r.org_id)] = str(r.parent_id) if r.parent_level == "county" else r.org_id[:6]
        elif r.org_level == "facility":
            out[(r.org_level, r.org_id)] = r.county_code if isinstance(r.county_code, str) else None
        else:
            out[(r.org_level, r.org_id)] = None
    return out


def _kpis(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cols = {r[0] for r in con.execute("DESCRIBE marts.dim_kpi").fetchall()}
    order = "display_order, " if "display_order" in cols else ""
    return con.execute(
        f"SELECT kpi_code, name_zh, name_en, family, unit, direction FROM marts.dim_kpi ORDER BY family, {order}kpi_code"
    ).df()


def _kname(k: dict, lang: str) -> str:
    return k["name_zh"] if lang == "zh" else k["name_en"]


def _provisional(r: dict, lang: str) -> str:
    """What a provisional cell's data lacks ("" for a cell that is not provisional): the dashboard's
    tooltip, so every output says it in the same words."""
    from dashboards import trust

    return trust.tooltip(r, lang)


def _scorecard(kpis: pd.DataFrame, cols: list[dict], shown: pd.DataFrame, lang: str) -> dict:
    """The table, with `notes`: the distinct "what is missing" texts of its provisional cells, which
    the cells point to by number."""
    from dashboards import trust

    idx = {(r["kpi_code"], r["org_level"], r["org_id"]): r for r in shown.to_dict("records")}
    rows = []
    notes: list[str] = []
    for k in kpis.to_dict("records"):
        cells, any_value = [], False
        for o in cols:
            r = idx.get((k["kpi_code"], o["org_level"], o["org_id"]))
            if r is None:
                cells.append({"text": "", "status": "absent", "note": ""})
                continue
            any_value = True
            note = "" if r["period_type"] == "month" else period_label(r["period_type"], r["period"], lang)
            cell = {"text": fmt_value(r["value"], k["unit"], lang), "status": r["status"], "note": note, "prov": None}
            why = _provisional(r, lang)
            if why:
                if why not in notes:
                    notes.append(why)
                cell["prov"] = notes.index(why) + 1
            cells.append(cell)
        if any_value:
            sign = {">=": "≥", "<=": "≤"}.get(k["direction"], "")
            # the target of the first column (the city, or the county of a county page); else a shared one
            first = idx.get((k["kpi_code"], cols[0]["org_level"], cols[0]["org_id"])) if cols else None
            targets = {idx[x]["target"] for x in idx if x[0] == k["kpi_code"] and pd.notna(idx[x]["target"])}
            tv = first["target"] if first is not None and pd.notna(first["target"]) else None
            if tv is None and len(targets) == 1:
                tv = next(iter(targets))
            target = f"{sign}{fmt_target(tv, k['unit'], lang)}" if tv is not None else ""
            rows.append({"name": _kname(k, lang), "target": target, "cells": cells})
    return {"columns": [o["name"] for o in cols], "rows": rows, "notes": notes, "mark": trust.mark_label(lang)}


def _red(kpis: pd.DataFrame, cols: list[dict], shown: pd.DataFrame, lang: str) -> list[str]:
    kidx = {k["kpi_code"]: k for k in kpis.to_dict("records")}
    keys = {(o["org_level"], o["org_id"]): o["name"] for o in cols}
    out = []
    red = shown[shown.status == "red"]
    order = {k: i for i, k in enumerate(kpis.kpi_code)}
    col_order = {(o["org_level"], o["org_id"]): i for i, o in enumerate(cols)}
    recs = [r for r in red.to_dict("records") if (r["org_level"], r["org_id"]) in keys]
    recs.sort(key=lambda r: (col_order[(r["org_level"], r["org_id"])], order.get(r["kpi_code"], 999)))
    for r in recs:
        k = kidx[r["kpi_code"]]
        text = red_sentence(keys[(r["org_level"], r["org_id"])], _kname(k, lang), r, k["unit"], lang)
        if r.get("provisional") is True:
            text += t("red_provisional", lang)
        out.append(text)
    return out


def league_view(lt: dict, kpis: pd.DataFrame, lang: str) -> dict:
    """League tables (`medcom.closing.league.league_tables`) as text rows, for the PDF and the
    dashboard's league page alike: {'tables': [{code, name, period, rows}], 'composite', 'weights',
    'formula'}."""
    kidx = {k["kpi_code"]: k for k in kpis.to_dict("records")}
    tables = []
    for code, tb in lt["tables"].items():
        k = kidx[code]
        rows = []
        for r in tb.to_dict("records"):
            ranked = pd.notna(r["rank"])
            rows.append(
                {
                    "rank": str(int(r["rank"])) if ranked else "—",
                    "name": r["name"],
                    "value": fmt_value(r["value"], k["unit"], lang),
                    "target": fmt_target(r["target"], k["unit"], lang),
                    "gap": fmt_signed_gap(r["gap"], k["unit"], lang),
                    "change": fmt_change(r["rank_change"]) if ranked else t("unranked", lang),
                    "status": r["status"],
                }
            )
        first = tb.iloc[0]
        period = period_label(first["period_type"], first["period"], lang)
        tables.append({"code": code, "name": _kname(k, lang), "period": period, "rows": rows})
    comp = []
    for r in lt["composite"].to_dict("records"):
        if pd.isna(r["score"]):
            continue
        comp.append(
            {
                "rank": str(int(r["rank"])),
                "name": r["name"],
                "score": f"{r['score']:.1f}",
                "kpis": str(r["kpis"]),
                "change": fmt_change(r.get("rank_change")),
            }
        )
    weights = [
        {"name": _kname(kidx[c], lang), "weight": f"{w:g}"}
        for c, w in sorted(lt["weights"].items(), key=lambda x: list(kidx).index(x[0]) if x[0] in kidx else 999)
        if c in lt["tables"]
    ]
    from medcom.closing.league import FORMULA

    return {"tables": tables, "composite": comp, "weights": weights, "formula": FORMULA[lang]}


def _restated(
    con: duckdb.DuckDBPyConnection, month: date, kpis: pd.DataFrame, orgs: pd.DataFrame, county: str | None, lang: str
) -> dict:
    df = restatements(con)
    if not df.empty:
        df = df[df.closed_month <= month]
    where = org_county(orgs)
    if county and not df.empty:
        df = df[[where.get((lv, oid)) == county for lv, oid in zip(df.org_level, df.org_id, strict=True)]]
    names = {(r.org_level, r.org_id): r.name for r in orgs.itertuples()}
    kidx = {k["kpi_code"]: k for k in kpis.to_dict("records")}
    files = dict(con.execute("SELECT batch_id, file_name FROM audit.ingest_batches").fetchall()) if len(df) else {}
    rows = []
    for r in df.head(MAX_RESTATED_ROWS).to_dict("records"):
        k = kidx.get(r["kpi_code"], {"name_zh": r["kpi_code"], "name_en": r["kpi_code"], "unit": None})
        old = fmt_value(r["old_value"], k["unit"], lang) if r["old_status"] is not None else t("new_cell", lang)
        new = fmt_value(r["new_value"], k["unit"], lang) if r["new_status"] is not None else t("gone_cell", lang)
        st_old = t(f"st_{r['old_status']}", lang) if r["old_status"] else "—"
        st_new = t(f"st_{r['new_status']}", lang) if r["new_status"] else "—"
        rows.append(
            {
                "month": f"{r['closed_month']:%Y-%m} r{r['revision']}",
                "kpi": _kname(k, lang),
                "org": names.get((r["org_level"], r["org_id"]), r["org_id"]),
                "period": period_label(r["period_type"], r["period"], lang),
                "change": f"{old} → {new}",
                "status": st_old if st_old == st_new else f"{st_old} → {st_new}",
                "batches": ", ".join(files.get(b) or b for b in r["batches"]) or "—",
            }
        )
    return {"rows": rows, "more": max(0, len(df) - MAX_RESTATED_ROWS), "total": len(df)}


def gather(
    con: duckdb.DuckDBPyConnection, month: date, county: str | None = None, lang: str = "zh", city: str | None = None
) -> dict:
    """Everything the bulletin shows, as plain values (the template only lays it out). `county` /
    `city`: the reader's scope (one county; one city of a province)."""
    has = con.execute(
        "SELECT count(*) FROM marts.kpi_values WHERE period_type IN ('month', 'ytd') AND period = ?", [month]
    ).fetchone()[0]
    if not has:
        raise MedcomError(f"there are no KPI values for {month:%Y-%m}: nothing to report")
    orgs = _orgs(con)
    kpis = _kpis(con)
    now, close = figures(con, month)
    before, _ = figures(con, previous_month(month))
    shown = with_quality(con, pick_period(now))
    frames = (now, close, before)

    def org_dicts(df: pd.DataFrame) -> list[dict]:
        return df[["org_level", "org_id", "name"]].sort_values("org_id").to_dict("records")

    province = orgs[orgs.org_level == "province"]
    counties = orgs[orgs.org_level == "county"].sort_values("org_id")
    if city:  # one city of a province warehouse
        top = orgs[(orgs.org_level == "city") & (orgs.org_id == str(city))]
        if top.empty:
            raise MedcomError(f"there is no city with code {city}")
        counties = counties[counties.parent_id.astype(str) == str(city)]
        columns = [*org_dicts(top), *org_dicts(counties)]
    elif not province.empty:  # the province, its cities as columns; counties ranked across the province
        top = province
        columns = [*org_dicts(top), *org_dicts(orgs[orgs.org_level == "city"])]
    else:
        top = orgs[orgs.org_level == "city"]
        columns = [*org_dicts(top), *org_dicts(counties)]
    if county:
        counties = counties[counties.org_id == str(county)]
        if counties.empty:
            raise MedcomError(f"there is no county with code {county}")
    sections = []
    for c in org_dicts(counties):
        comms = orgs[(orgs.org_level == "community") & (orgs.parent_id.astype(str) == c["org_id"])]
        cols = [c, *org_dicts(comms)]
        lt = league_tables(con, month, "community", c["org_id"], frames=frames)
        sections.append(
            {
                "name": c["name"],
                "code": c["org_id"],
                "scorecard": _scorecard(kpis, cols, shown, lang),
                "red": _red(kpis, cols, shown, lang),
                "league": league_view(lt, kpis, lang) if lt["tables"] else None,
            }
        )
    city = None
    head = None
    if not county:
        lt = league_tables(con, month, "county", str(city) if city else None, frames=frames)
        head = {
            "name": " · ".join(top.name),
            "scorecard": _scorecard(kpis, columns, shown, lang),
            "red": _red(kpis, [*columns, *org_dicts(counties)], shown, lang),
            "league": league_view(lt, kpis, lang),
        }
    if close:
        state = t("closed", lang)
        when = pd.Timestamp(close["closed_at"])
        detail = t(
            "closed_detail", lang, date=f"{when:%Y-%m-%d}", revision=int(close["revision"]), user=close["closed_by"]
        )
    else:
        state, detail = t("provisional", lang), t("provisional_detail", lang)
    month_text = f"{month.year}年{month.month}月" if lang == "zh" else f"{month:%B %Y}"
    place = " · ".join(counties.name) if county else " · ".join(top.name)
    return {
        "lang": lang,
        "t": lambda key, **kw: t(key, lang, **kw),
        "month": month,
        "month_text": month_text,
        "place": place,
        "county": county,
        "closed": close is not None,
        "revision": int(close["revision"]) if close else None,
        "state": state,
        "state_detail": detail,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "city": head,
        "sections": sections,
        "restated": _restated(con, month, kpis, orgs, county, lang),
    }


def bulletin_html(
    con: duckdb.DuckDBPyConnection, month: date, county: str | None = None, lang: str = "zh", city: str | None = None
) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    ctx = gather(con, month, county, lang, city)
    ctx["css"] = (TEMPLATES / "bulletin.css").read_text(encoding="utf-8")
    return env.get_template("bulletin.html.j2").render(**ctx)


def _weasyprint():
    try:
        import weasyprint
    except OSError as exc:  # pango / harfbuzz missing
        raise MedcomError(
            "cannot make PDFs: WeasyPrint needs the Pango library (Debian: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0 fonts-noto-cjk) — {exc}"
        ) from None
    return weasyprint


def render(
    con: duckdb.DuckDBPyConnection, month: date, county: str | None = None, lang: str = "zh", city: str | None = None
):
    """The typeset WeasyPrint document (`.pages`, `.write_pdf()`)."""
    html = bulletin_html(con, month, county, lang, city)
    return _weasyprint().HTML(string=html, base_url=str(TEMPLATES)).render()


def bulletin_pdf(
    con: duckdb.DuckDBPyConnection, month: date, county: str | None = None, lang: str = "zh", city: str | None = None
) -> bytes:
    """The bulletin PDF as bytes (for the dashboard download: pass the viewer's scope)."""
    return render(con, month, county, lang, city).write_pdf()


def scope_args(scope) -> dict:
    """county= / city= for a viewer's scope (medcom.access.scope.Scope: level, code; or None = everything)."""
    level, code = getattr(scope, "level", "all"), getattr(scope, "code", None)
    if level == "county":
        return {"county": code}
    if level == "city":
        return {"city": code}
    return {}


def write_bulletin(month: date, out: Path, county: str | None = None, lang: str = "zh") -> dict:
    """`medcom report`: write the PDF of the current snapshot to `out`; returns {'pages', 'state'}."""
    import warehouse

    con = warehouse.connect_reader()
    try:
        doc = render(con, month, county, lang)
        closed = figures(con, month)[1] is not None
    finally:
        con.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    doc.write_pdf(tmp)
    tmp.replace(out)
    return {"pages": len(doc.pages), "state": "closed" if closed else "provisional"}
