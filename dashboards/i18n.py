"""Labels in Chinese (default) and English. `t(key, lang)` falls back to the key itself."""

from __future__ import annotations

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_L: dict[str, tuple[str, str]] = {
    "app_title": ("医共体绩效监测", "Medical-community performance"),
    "nav_scorecard": ("绩效看板", "Scorecard"),
    "nav_kpi": ("指标详情", "KPI detail"),
    "nav_fund": ("医保基金", "Insurance fund"),
    "nav_supervision": ("综合监管", "Supervision"),
    "nav_quality": ("数据质量", "Data quality"),
    "nav_sql": ("SQL查询", "SQL"),
    "month": ("月份", "Month"),
    "year": ("年度", "Year"),
    "period_type": ("统计口径", "Period"),
    "pt_month": ("当月", "Month"),
    "pt_ytd": ("年初至今", "Year to date"),
    "pt_year": ("年度", "Year"),
    "kpi": ("指标", "KPI"),
    "family": ("类别", "Family"),
    "target": ("目标", "Target"),
    "value": ("数值", "Value"),
    "status": ("状态", "Status"),
    "numerator": ("分子", "Numerator"),
    "denominator": ("分母", "Denominator"),
    "st_green": ("达标", "On target"),
    "st_amber": ("预警", "Near target"),
    "st_red": ("未达标", "Off target"),
    "st_none": ("无目标", "No target"),
    "st_insufficient": ("样本不足", "Too few cases"),
    "st_no_data": ("无数据", "No data"),
    "lvl_province": ("省", "Province"),
    "lvl_city": ("市", "City"),
    "lvl_county": ("县（市、区）", "County"),
    "lvl_community": ("医共体", "Medical community"),
    "lvl_township": ("乡镇", "Township"),
    "lvl_facility": ("机构", "Facility"),
    "drill_hint": ("点击列标题下钻", "Click a column header to drill down"),
    "member_facilities": ("成员单位", "Member facilities"),
    "townships": ("覆盖乡镇", "Townships"),
    "export_xlsx": ("导出Excel", "Export to Excel"),
    "print_report": ("打印月报", "Printable monthly report"),
    "no_warehouse": (
        "尚无已发布的数据仓库：请先运行 medcom ingest 和 medcom build。",
        "No published warehouse yet: run `medcom ingest` and `medcom build` first.",
    ),
    "no_data_month": ("所选月份没有数据。", "No data for the selected month."),
    "trend": ("月度趋势", "Monthly trend"),
    "target_line": ("目标值", "Target"),
    "distribution": ("同级单位分布", "Distribution across peer units"),
    "definition": ("指标定义", "Definition"),
    "formula_zh": ("计算方法（中文）", "Formula (Chinese)"),
    "formula_en": ("计算方法（英文）", "Formula (English)"),
    "source_feeds": ("数据来源", "Source feeds"),
    "policy_ref": ("政策依据", "Policy reference"),
    "last_load": ("最近数据加载", "Last data load"),
    "direction": ("方向", "Direction"),
    "unit": ("单位", "Unit"),
    "peer_units": ("同级单位", "Peer units"),
    "median": ("中位数", "Median"),
    "q1": ("下四分位数", "Lower quartile"),
    "q3": ("上四分位数", "Upper quartile"),
    "min": ("最小值", "Minimum"),
    "max": ("最大值", "Maximum"),
    "n_units": ("单位数", "Units"),
    "org": ("单位", "Unit"),
    "choose_kpi": ("选择指标", "Choose a KPI"),
    "fund_title": ("医保基金总额预算执行（城乡居民医保）", "Medical-insurance fund budget (resident scheme)"),
    "community": ("医共体", "Medical community"),
    "county": ("县（市、区）", "County"),
    "annual_budget": ("年度预分额度（元）", "Annual budget (yuan)"),
    "spend_ytd": ("累计基金支出（元）", "Cumulative spend (yuan)"),
    "budget_ytd": ("累计预算进度（元）", "Pro-rated budget (yuan)"),
    "prepaid_ytd": ("累计预付（元）", "Cumulative prepayments (yuan)"),
    "execution": ("预算执行率", "Budget execution"),
    "projected_balance": ("预计年末结余（元）", "Projected year-end balance (yuan)"),
    "balance_state": ("结余/超支", "Surplus/overrun"),
    "surplus": ("结余", "Surplus"),
    "overrun": ("超支", "Overrun"),
    "subtotal": ("合计", "Total"),
    "cum_spend": ("累计支出", "Cumulative spend"),
    "cum_budget": ("预算进度", "Pro-rated budget"),
    "cum_prepaid": ("累计预付", "Cumulative prepayments"),
    "supervision_title": ("综合监管指标", "Supervision KPIs"),
    "open_inspections": ("未完成的监督检查", "Open inspections"),
    "overdue_complaints": ("超期未办结的投诉举报", "Overdue complaints"),
    "inspection_id": ("检查编号", "Inspection"),
    "facility": ("机构", "Facility"),
    "kind": ("检查类型", "Kind"),
    "planned_month": ("计划月份", "Planned month"),
    "complaint_id": ("投诉编号", "Complaint"),
    "received_date": ("受理日期", "Received"),
    "due_date": ("办结时限", "Due"),
    "days_overdue": ("超期天数", "Days overdue"),
    "none_found": ("无", "None"),
    "quality_title": ("数据质量", "Data quality"),
    "batches": ("接收批次", "Ingest batches"),
    "failed_expectations": ("未通过的校验", "Failed expectations"),
    "quarantine": ("隔离行（已脱敏）", "Quarantined rows (pseudonymised)"),
    "replacements": ("数据替换记录", "Replacements"),
    "completeness": ("报送完整性", "Completeness"),
    "completeness_hint": (
        "期望：每个县（市、区）每月一份（年度数据项每年一份），与指标“暂定”标记依据相同；"
        "迟报 = 次月{day}日后才首次接收。事件类数据项（预付、检查、处罚、投诉）无事件之月无需报送。",
        "Expected: every county every month (yearly feeds once a year), the deliveries the provisional "
        "mark rests on; late = first accepted after day {day} of the next month. Event feeds (prepayments, "
        "inspections, penalties, complaints) owe nothing in a month without events.",
    ),
    "completeness_rebuild": (
        "此快照尚无报送模型（marts.dq_deliveries）：请运行 medcom build。",
        "This snapshot has no delivery model yet (marts.dq_deliveries): run medcom build.",
    ),
    "c_none": ("无文件（不要求）", "No file (none owed)"),
    "c_received": ("已报", "Received"),
    "c_late": ("迟报", "Late"),
    "c_rejected": ("被拒", "Rejected"),
    "c_missing": ("缺报", "Missing"),
    "c_not_due": ("未到期", "Not due"),
    "c_na": ("不适用", "Not expected"),
    "feed": ("数据项", "Feed"),
    "verdict": ("结论", "Verdict"),
    "v_accepted": ("接收", "Accepted"),
    "v_accepted_with_quarantine": ("部分隔离后接收", "Accepted with quarantine"),
    "v_rejected": ("拒收", "Rejected"),
    "v_duplicate": ("重复", "Duplicate"),
    "sql_title": ("SQL查询（只读）", "SQL (read-only)"),
    "run": ("运行", "Run"),
    "download_csv": ("下载CSV", "Download CSV"),
    "download_xlsx": ("下载XLSX", "Download XLSX"),
    "dictionary": ("数据字典", "Data dictionary"),
    "rows_returned": ("返回 {n} 行，用时 {s:.2f} 秒", "{n} rows in {s:.2f} s"),
    "truncated": ("（已截断至 {n} 行）", " (cut at {n} rows)"),
    "schema": ("模式", "Schema"),
    "table": ("表", "Table"),
    "column": ("列", "Column"),
    "type": ("类型", "Type"),
    "description": ("说明", "Description"),
    "report_title": ("{city}医共体绩效月报", "{city} medical-community monthly report"),
    "generated": ("生成时间", "Generated"),
    "scope": ("查看范围", "Scope"),
    "period_note_month": ("当月值（该指标按月统计）", "monthly value (KPI is monthly)"),
    "period_note_year": ("年度值", "annual value"),
    "view_failed": ("页面出错", "This view failed"),
    "titled_count": ("{title}（{n}）", "{title} ({n})"),
    "better_higher": ("≥ 越高越好", "≥ higher is better"),
    "better_lower": ("≤ 越低越好", "≤ lower is better"),
    "fund_note": (
        "预计年末结余 = 年度预分额度 − 年初至今基金支出 × 12 ÷ 已过月数（按目前支出进度外推）；正数为结余，负数为超支。"
        "县、市合计为有预算医共体之和。",
        "Projected year-end balance = annual budget − year-to-date spend × 12 / months elapsed (the year at "
        "the pace so far); positive = surplus, negative = overrun. County and city totals sum the communities "
        "with a budget.",
    ),
    "ten_thousand_yuan": ("万元", "10k yuan"),
    "received_at": ("接收时间", "Received"),
    "file": ("文件", "File"),
    "rows_read": ("读取行数", "Rows read"),
    "rows_loaded": ("加载行数", "Rows loaded"),
    "rows_quarantined": ("隔离行数", "Rows quarantined"),
    "reasons": ("原因", "Reasons"),
    "reason": ("原因", "Reason"),
    "late_after_day": ("迟报界限（次月日）", "Late after day"),
    "whole_year": ("全年", "Year"),
    "yearly_feeds": ("年度数据项", "Yearly feeds"),
    "month_n": ("{m}月", "{m:02d}"),
    "print": ("打印", "Print"),
    "list_sep": ("、", ", "),
    "note_month": ("月", "month"),
    "note_ytd": ("累计", "YTD"),
    # monthly close (issue 12)
    "nav_closes": ("修订记录", "Revision log"),
    "closed_on": ("已关账：{date} UTC 关账（第 {revision} 版）", "closed on {date} UTC (revision {revision})"),
    "showing_current": ("当前显示现值", "showing current figures"),
    "not_closed": ("本月未关账：显示当前数据", "this month is not closed: current figures"),
    "fig_closed": ("关账数据", "Closed figures"),
    "fig_current": ("当前数据", "Current figures"),
    "restated_mark": ("已更正 {old} → {new}", "restated {old} → {new}"),
    "restated_tip": ("关账后数据更正，更正批次：{files}", "changed since the close by: {files}"),
    # league tables (issue 12)
    "nav_league": ("排名", "League tables"),
    "league_title": ("排名", "League tables"),
    "league_of": ("排名范围", "League"),
    "league_counties": ("县（市、区）排名", "Counties"),
    "league_communities": ("医共体排名 · {county}", "Communities · {county}"),
    "league_composite": ("综合排名", "Composite ranking"),
    "league_weights": ("权重", "Weights"),
    "league_intro": (
        "各计分指标按指标方向排名（并列同名次）；名次变化为与上月相比（↑ 上升）；差距 = 数值 − 目标。",
        "Each scored KPI ranked in its direction (ties share a rank); rank change against the previous "
        "month (↑ = moved up); gap = value − target.",
    ),
    "league_none": ("本月没有可排名的指标。", "No KPI can be ranked this month."),
    "lg_rank": ("名次", "Rank"),
    "lg_org": ("单位", "Unit"),
    "lg_value": ("数值", "Value"),
    "lg_target": ("目标", "Target"),
    "lg_gap": ("与目标差距", "Gap to target"),
    "lg_change": ("名次变化", "Rank change"),
    "lg_score": ("综合得分", "Score"),
    "lg_kpis": ("计分指标数", "KPIs counted"),
    "bulletin_pdf": ("通报PDF", "Bulletin PDF"),
    "bulletin_pdf_hint": (
        "下载本月通报（PDF，生成约需半分钟）",
        "download this month's bulletin (PDF; takes about half a minute)",
    ),
    "no_closes": ("尚无关账月份（命令：medcom close YYYY-MM）", "no month has been closed yet (medcom close YYYY-MM)"),
    "closes_intro": (
        "每次关账冻结当月全部指标值；再次关账生成新版本，旧版本保留。下表列出关账后数值或状态发生变化的单元格。",
        "Each close freezes every KPI value of the month; closing again makes a new revision and keeps the old one. "
        "Below: every cell whose value or status changed since its close.",
    ),
    "closes_title": ("关账记录", "Closes"),
    "restated_title": ("关账后更正的单元格", "Cells restated since their close"),
    "open_closed_scorecard": ("查看 {month} 关账看板", "Open the closed scorecard of {month}"),
    "close_closed_month": ("关账月份", "Month"),
    "close_revision": ("版本", "Revision"),
    "close_closed_at": ("关账时间 (UTC)", "Closed at (UTC)"),
    "close_closed_by": ("关账人", "Closed by"),
    "close_note": ("说明", "Note"),
    "rs_closed_month": ("关账月份/版本", "Closed month / revision"),
    "rs_kpi": ("指标", "KPI"),
    "rs_org": ("单位", "Unit"),
    "rs_period_type": ("口径", "Period"),
    "rs_old_value": ("关账值", "Closed value"),
    "rs_new_value": ("现值", "Current value"),
    "rs_status": ("状态", "Status"),
    "rs_files": ("更正批次（文件）", "Correction batches (files)"),
    "closed_vs_current": ("关账值与现值", "Closed vs current"),
    "closed_value": ("关账值", "Closed value"),
    "current_value": ("现值", "Current value"),
    # the provisional mark (dashboards/trust.py)
    "provisional": ("暂定", "Provisional"),
    "prov_head": ("暂定数据", "Provisional"),
    "prov_received": (
        "应报 {expected} 份数据，已收并通过 {accepted} 份",
        "{accepted} of {expected} expected deliveries received and accepted",
    ),
    "prov_missing": ("缺：{items}", "missing: {items}"),
    "prov_late": ("迟报 {n} 份", "{n} late"),
    "prov_warnings": ("批次预警 {n} 项：{items}", "{n} batch warning(s): {items}"),
    "prov_quarantine": ("隔离行占 {share}", "{share} of rows quarantined"),
    "prov_more": ("等共 {n} 项", "… {n} in all"),
    "prov_legend": ("暂定 = 数据不完整或有批次预警", "Provisional = incomplete data or a batch warning"),
}

FAMILIES = {
    "A": ("A 有序就医格局", "A Care-seeking pattern"),
    "B": ("B 村卫生室承担基本公卫任务", "B Village clinics' share of public-health work"),
    "C": ("C 医保基金总额预算", "C Medical-insurance fund"),
    "D": ("D 综合监管", "D Comprehensive supervision"),
    "E": ("E 健康许昌", "E Healthy Xuchang"),
}

FEEDS = {
    "encounters": ("就诊结算记录", "Encounters"),
    "phs_services": ("基本公卫服务量", "Public-health services"),
    "phs_funds": ("基本公卫补助拨付", "Public-health subsidies"),
    "fund_prepayments": ("医保基金按月预付", "Fund prepayments"),
    "inspections": ("监督检查", "Inspections"),
    "penalties": ("行政处罚", "Penalties"),
    "complaints": ("投诉举报", "Complaints"),
    "workforce": ("机构执业登记月报", "Workforce"),
    "population": ("人口", "Population"),
    "fund_budgets": ("医共体医保基金年度预算", "Fund budgets"),
    "supervision_agencies": ("卫生监督机构人员", "Supervision agencies"),
    "reported_indicators": ("健康许昌指标", "Reported indicators"),
    "phs_weights": ("公卫工分当量", "Public-health weights"),
    "regions": ("行政区划", "Regions"),
    "facilities": ("医疗卫生机构", "Facilities"),
    "communities": ("医共体", "Communities"),
    "memberships": ("成员单位", "Memberships"),
    "catchments": ("医共体覆盖乡镇", "Catchments"),
    "targets": ("目标值", "Targets"),
}

KINDS = {"random": ("双随机", "Random"), "special": ("专项", "Special"), "audit": ("审计", "Audit")}


def norm_lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **fmt) -> str:
    pair = _L.get(key)
    text = key if pair is None else pair[0 if norm_lang(lang) == "zh" else 1]
    return text.format(**fmt) if fmt else text


def pick(pair: tuple[str, str] | None, lang: str, default: str = "") -> str:
    if not pair:
        return default
    return pair[0 if norm_lang(lang) == "zh" else 1]


def family_label(code: str, lang: str) -> str:
    return pick(FAMILIES.get(code), lang, code)


def feed_label(feed: str, lang: str) -> str:
    return pick(FEEDS.get(feed), lang, feed)
