"""Words and numbers of the bulletin, in Chinese and English: target / gap formats, red-cell sentences
(values: `medcom.numbers.fmt_value`, shared with the dashboard)."""

from __future__ import annotations

from datetime import date

from medcom.numbers import fmt_value, isnum

LABELS: dict[str, tuple[str, str]] = {
    "title": ("紧密型县域医共体建设监测通报", "County medical-community monitoring bulletin"),
    "closed": ("已关账", "Closed"),
    "closed_detail": (
        "{date} 关账（第 {revision} 版，{user}）",
        "closed on {date} (revision {revision}, by {user})",
    ),
    "provisional": ("未关账（临时数据）", "Provisional (not closed)"),
    "provisional_detail": (
        "本月尚未关账，数据可能随更正而变化",
        "this month is not closed yet; figures may change with corrections",
    ),
    "generated": ("生成时间 {ts} UTC", "generated {ts} UTC"),
    "scope_county": ("范围：{name}", "Scope: {name}"),
    "contents": ("目录", "Contents"),
    "scorecard": ("绩效看板", "Scorecard"),
    "league": ("排名", "League tables"),
    "league_counties": ("县（市、区）排名", "County league tables"),
    "league_communities": ("医共体排名", "Community league tables"),
    "composite": ("综合排名", "Composite ranking"),
    "weights": ("权重", "Weights"),
    "red_cells": ("未达标（红色）指标", "Red cells"),
    "no_red": ("本月无红色指标。", "No red cells this month."),
    "restatements": ("关账以来的数据更正", "Restatements since the last close"),
    "no_restatements": ("关账以来无数据更正。", "No figure has changed since its close."),
    "county_page": ("县区页：{name}", "County page: {name}"),
    "rank": ("名次", "Rank"),
    "org": ("单位", "Unit"),
    "value": ("数值", "Value"),
    "target": ("目标", "Target"),
    "gap": ("与目标差距", "Gap to target"),
    "change": ("名次变化", "Rank change"),
    "score": ("综合得分", "Score"),
    "kpis_counted": ("计分指标数", "KPIs counted"),
    "kpi": ("指标", "KPI"),
    "period": ("口径", "Period"),
    "closed_month": ("关账月份", "Closed month"),
    "old_new": ("原值 → 现值", "Closed → current"),
    "status_change": ("状态", "Status"),
    "batches": ("更正批次", "Correction batches"),
    "page": ("第 {page} 页 / 共 {pages} 页", "page {page} of {pages}"),
    "more_rows": ("另有 {n} 项未列出（见看板“修订记录”页）", "and {n} more (see the dashboard's revision log)"),
    "unranked": ("不参与排名", "not ranked"),
    "legend": (
        "颜色：绿=达标，黄=预警，红=未达标，灰=无目标/样本不足",
        "Colours: green on target, amber near, red off target, grey no target / too few cases",
    ),
    "prov_legend": (
        "暂定 = 数据不完整或有批次预警（编号见表下说明）",
        "Provisional = incomplete data or a batch warning (numbered notes below the table)",
    ),
    "red_provisional": ("（暂定）", " (provisional)"),
    "pt_month": ("当月", "month"),
    "pt_ytd": ("年初至今", "YTD"),
    "pt_year": ("{year}年", "{year}"),
    "st_green": ("达标", "on target"),
    "st_amber": ("预警", "near target"),
    "st_red": ("未达标", "off target"),
    "st_none": ("无目标", "no target"),
    "st_insufficient": ("样本不足", "too few cases"),
    "st_no_data": ("无数据", "no data"),
    "new_cell": ("新增", "new"),
    "gone_cell": ("已删除", "removed"),
}


def t(key: str, lang: str, **fmt) -> str:
    pair = LABELS.get(key)
    text = key if pair is None else pair[0 if lang == "zh" else 1]
    return text.format(**fmt) if fmt else text


def _trim(x: float, digits: int) -> str:
    s = f"{x:,.{digits}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def fmt_target(v, unit: str | None, lang: str = "zh") -> str:
    """A target without needless decimals: 90%, 43.3%, 4.3‰."""
    if not isnum(v):
        return "—"
    v = float(v)
    if unit == "fraction":
        return f"{_trim(v * 100, 1)}%"
    if unit == "per_mille":
        return f"{_trim(v, 2)}‰"
    if unit == "per_100k":
        return f"{_trim(v, 1)}/10万" if lang == "zh" else f"{_trim(v, 1)}/100k"
    if unit == "yuan":
        return f"¥{v:,.0f}"
    return _trim(v, 2)


def fmt_gap(gap, unit: str | None, lang: str = "zh") -> str:
    """|gap| in the KPI's unit: percentage points for fractions."""
    if not isnum(gap):
        return "—"
    g = abs(float(gap))
    if unit == "fraction":
        return f"{g * 100:.1f} 个百分点" if lang == "zh" else f"{g * 100:.1f} percentage points"
    return fmt_value(g, unit, lang)


def fmt_signed_gap(gap, unit: str | None, lang: str = "zh") -> str:
    if not isnum(gap):
        return "—"
    sign = "+" if float(gap) > 0 else ("−" if float(gap) < 0 else "±")
    g = abs(float(gap))
    if unit == "fraction":
        return f"{sign}{g * 100:.1f}" + (" 个百分点" if lang == "zh" else " pp")
    return sign + fmt_value(g, unit, lang)


def fmt_change(change) -> str:
    if not isnum(change):
        return "—"
    c = int(change)
    return f"↑{c}" if c > 0 else (f"↓{-c}" if c < 0 else "—0")


def period_label(period_type: str, period: date, lang: str) -> str:
    if period_type == "year":
        return t("pt_year", lang, year=period.year)
    return t(f"pt_{period_type}", lang)


def red_sentence(org_name: str, kpi_name: str, row: dict, unit: str | None, lang: str) -> str:
    """'鄢陵县 县域就诊率 84.1%, 低于目标 90% 5.9 个百分点' / 'Yanling in-county visit rate 84.1%,
    5.9 percentage points below the target of 90%'. Non-month rows name their period."""
    value = fmt_value(row["value"], unit, lang)
    target = fmt_target(row["target"], unit, lang)
    gap = fmt_gap(float(row["value"]) - float(row["target"]), unit, lang)
    below = row["direction"] == ">="
    pt = "" if row["period_type"] == "month" else f"（{period_label(row['period_type'], row['period'], lang)}）"
    if lang == "zh":
        word = "低于" if below else "高于"
        return f"{org_name} {kpi_name}{pt} {value}, {word}目标 {target} {gap}"
    pt = "" if row["period_type"] == "month" else f" ({period_label(row['period_type'], row['period'], lang)})"
    word = "below" if below else "above"
    return f"{org_name} {kpi_name}{pt} {value}, {gap} {word} the target of {target}"


__all__ = [
    "LABELS",
    "fmt_change",
    "fmt_gap",
    "fmt_signed_gap",
    "fmt_target",
    "fmt_value",
    "isnum",
    "period_label",
    "red_sentence",
    "t",
]
