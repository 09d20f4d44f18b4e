"""The provisional mark of a KPI cell: its label and its zh/en tooltip (outputs.md "Trust in each number").

A cell is provisional when marts.kpi_cell_quality says so: an expected delivery of its source
feeds is missing or rejected, or a batch-level expectation failed. The tooltip says what is
missing, in the page's language.
"""

from __future__ import annotations

import math

from dashboards.i18n import feed_label, t

MAX_ITEMS = 6


def is_provisional(row: dict | None) -> bool:
    return bool(row and row.get("provisional") is True)


def _num(v) -> int:
    try:
        return 0 if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
    except (TypeError, ValueError):
        return 0


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _items(text: str, sep: str, lang: str, out_sep: str, feeds: bool = False) -> str:
    parts = [p.strip() for p in text.split(sep) if p.strip()]
    if feeds:  # "encounters 411025 2021-03" → "就诊记录 411025 2021-03"
        parts = [" ".join([feed_label(p.split(" ", 1)[0], lang), *p.split(" ", 1)[1:]]) for p in parts]
    shown = out_sep.join(parts[:MAX_ITEMS])
    if len(parts) > MAX_ITEMS:
        shown += out_sep + t("prov_more", lang, n=len(parts))
    return shown


def tooltip(row: dict, lang: str) -> str:
    """What the cell's data lacks, in plain words ("" when the cell is not provisional)."""
    if not is_provisional(row):
        return ""
    zh = lang == "zh"
    sep = "；" if zh else "; "
    parts = [
        t(
            "prov_received",
            lang,
            expected=_num(row.get("expected_deliveries")),
            accepted=_num(row.get("accepted_deliveries")),
        )
    ]
    missing = _text(row.get("missing"))
    if missing:
        parts.append(t("prov_missing", lang, items=_items(missing, ",", lang, "，" if zh else ", ", feeds=True)))
    if _num(row.get("late_deliveries")):
        parts.append(t("prov_late", lang, n=_num(row.get("late_deliveries"))))
    n_warn = _num(row.get("failed_expectations"))
    if n_warn:
        w = _text(row.get("warnings_zh" if zh else "warnings")) or _text(row.get("warnings"))
        parts.append(
            t(
                "prov_warnings",
                lang,
                n=n_warn,
                items=_items(w, "；" if zh and row.get("warnings_zh") else ";", lang, sep),
            )
        )
    share = row.get("quarantine_share")
    if isinstance(share, float) and not math.isnan(share) and share > 0:
        parts.append(t("prov_quarantine", lang, share=f"{share:.1%}"))
    return t("prov_head", lang) + ("：" if zh else ": ") + sep.join(parts)


def mark_label(lang: str) -> str:
    return t("provisional", lang)
