"""Write the whole synthetic city in the inbox layout (`OUT/<feed>/<file>`).

Which feed gets which format (like real deliveries, see STYLES below):
regions CSV UTF-8 · facilities XLSX (2 title rows, Chinese headers/labels, Excel dates) ·
communities CSV GBK Chinese · memberships CSV UTF-8-BOM Chinese, YYYY/MM/DD ·
catchments CSV UTF-8, YYYYMMDD · targets `OUT/targets_overrides.csv` · population XLSX
(1 title row) · phs_weights CSV GB18030 Chinese labels · encounters one file per insured
county × month (see ENCOUNTER_STYLES: GB18030 Chinese, Parquet, UTF-8-BOM Chinese with
YYYYMMDD, UTF-8 with YYYY/MM/DD, plain UTF-8) · phs_services CSV (2020 UTF-8 English,
later GB18030 Chinese) · phs_funds CSV UTF-8-BOM Chinese with units · fund_budgets XLSX ·
fund_prepayments CSV · inspections CSV GBK Chinese labels · penalties CSV YYYY/MM/DD ·
complaints CSV UTF-8-BOM Chinese · workforce CSV UTF-8-BOM Chinese 是/否 ·
supervision_agencies CSV · reported_indicators XLSX (1 title row).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from medcom.generate import activity as act
from medcom.generate import geography as geo
from medcom.generate.city import City, build_city
from medcom.generate.encounters import EncounterModel, month_start
from medcom.generate.writers import Progress, Style, to_arrow, write_feed

UTF8_EN = Style()
ZH_GB = Style(encoding="gb18030", headers="zh", labels="zh")
ZH_GBK = Style(encoding="gbk", headers="zh", labels="zh")
ZH_BOM = Style(encoding="utf-8-sig", headers="zh")

STYLES = {
    "regions": UTF8_EN,
    "facilities": Style(
        fmt="xlsx",
        headers="zh",
        labels="zh",
        dates="excel",
        title_rows=("许昌市医疗卫生机构名录", "数据来源：许昌市卫生健康委员会 医疗机构登记系统"),
    ),
    "communities": ZH_GBK,
    "memberships": Style(encoding="utf-8-sig", headers="zh", dates="slash"),
    "catchments": Style(dates="compact"),
    "targets": UTF8_EN,
    "population": Style(fmt="xlsx", headers="zh", title_rows=("许昌市分乡镇常住人口及城乡居民参保人数",)),
    "phs_weights": ZH_GB,
    "phs_services_2020": UTF8_EN,
    "phs_services": ZH_GB,
    "phs_funds": Style(encoding="utf-8-sig", headers="zh", units=True),
    "fund_budgets": Style(fmt="xlsx", headers="zh", units=True, title_rows=("医共体城乡居民医保基金年度预算",)),
    "fund_prepayments": UTF8_EN,
    "inspections": ZH_GBK,
    "penalties": Style(dates="slash"),
    "complaints": ZH_BOM,
    "workforce": Style(encoding="utf-8-sig", headers="zh", labels="zh"),
    "supervision_agencies": UTF8_EN,
    "reported_indicators": Style(fmt="xlsx", title_rows=("健康许昌行动主要指标监测结果",)),
}

ENCOUNTER_STYLES = {
    "411025": Style(encoding="gb18030", headers="zh", labels="zh", units=True),
    "411081": Style(fmt="parquet"),
    "411082": Style(encoding="utf-8-sig", headers="zh", dates="compact", alias_index=1),
    "411003": Style(dates="slash"),
}


def encounter_style(county: str) -> Style:
    return ENCOUNTER_STYLES.get(county, UTF8_EN)


def encounter_path(out: Path, ym: str, county: str) -> Path:
    ext = "parquet" if encounter_style(county).fmt == "parquet" else "csv"
    return out / "encounters" / f"encounters_{ym}_{county}.{ext}"


def month_list(start: str, months: int) -> list[str]:
    if months < 1:
        raise ValueError("months must be at least 1")
    return [month_start(start, k).isoformat()[:7] for k in range(months)]


def write_registry(out: Path, city: City, progress: Progress) -> None:
    w = write_feed
    w(out / "regions" / "regions.csv", to_arrow(city.regions, "regions"), "regions", STYLES["regions"], progress)
    fac = city.facilities.copy()
    # urban streets have community health service centres / stations: use those labels
    street = fac._township.isin(set(city.townships.code[city.townships.street]))
    fac.loc[street & (fac.tier == "township"), "tier"] = "社区卫生服务中心"
    fac.loc[street & (fac.tier == "village"), "tier"] = "社区卫生服务站"
    fac.loc[(fac.tier == "clinic") & fac.name.str.endswith("诊所"), "tier"] = "诊所"
    w(
        out / "facilities" / "facilities_registry.xlsx",
        to_arrow(fac, "facilities"),
        "facilities",
        STYLES["facilities"],
        progress,
    )
    w(
        out / "communities" / "communities.csv",
        to_arrow(city.communities, "communities"),
        "communities",
        STYLES["communities"],
        progress,
    )
    w(
        out / "memberships" / "memberships.csv",
        to_arrow(city.memberships, "memberships"),
        "memberships",
        STYLES["memberships"],
        progress,
    )
    w(
        out / "catchments" / "catchments.csv",
        to_arrow(city.catchments, "catchments"),
        "catchments",
        STYLES["catchments"],
        progress,
    )
    w(
        out / "targets_overrides.csv",
        to_arrow(act.target_overrides(), "targets"),
        "targets",
        STYLES["targets"],
        progress,
    )


def write_city(out: Path, *, start: str, months: int, scale: float, seed: int, quiet: bool = False) -> dict:
    if scale <= 0:
        raise ValueError("scale must be positive")
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(quiet)
    ms = month_list(start, months)
    years = act.years_of(ms)
    progress.note(f"generating {geo.CITY_NAME} {ms[0]}…{ms[-1]} scale {scale} seed {seed} into {out}")
    if act.month_end(ms[-1]) > dt.date.today():
        progress.note(f"warning: the range reaches past today ({ms[-1]}): ingest will quarantine future-dated rows")
    city = build_city(seed, scale)
    write_registry(out, city, progress)
    w = write_feed

    pop = act.population(city, years, scale, seed)
    for y in years:
        w(
            out / "population" / f"population_{y}.xlsx",
            to_arrow(pop[pop.year == y], "population"),
            "population",
            STYLES["population"],
            progress,
        )
        w(
            out / "phs_weights" / f"phs_weights_{y}.csv",
            to_arrow(act.phs_weights([y]), "phs_weights"),
            "phs_weights",
            STYLES["phs_weights"],
            progress,
        )

    # encounters: one file per insured county × month, streamed in chunks
    model = EncounterModel(city, seed, scale)
    tw_index = {c: i for i, c in enumerate(model.tw_codes)}
    tally = np.zeros((len(model.tw_codes), len(ms)))
    enc_rows = 0
    for i, ym in enumerate(ms):
        col = np.zeros(len(model.tw_codes))
        for county in model.counties():
            enc_rows += w(
                encounter_path(out, ym, county),
                model.month_chunks(county, ym, col),
                "encounters",
                encounter_style(county),
                progress,
            )
        tally[:, i] = col

        services, funds = act.phs_month(city, ym, scale, seed)
        st = STYLES["phs_services_2020"] if ym < "2021" else STYLES["phs_services"]
        w(
            out / "phs_services" / f"phs_services_{ym}.csv",
            to_arrow(services, "phs_services"),
            "phs_services",
            st,
            progress,
        )
        w(
            out / "phs_funds" / f"phs_funds_{ym}.csv",
            to_arrow(funds, "phs_funds"),
            "phs_funds",
            STYLES["phs_funds"],
            progress,
        )
        w(
            out / "workforce" / f"workforce_{ym}.csv",
            to_arrow(act.workforce_month(city, ym, seed), "workforce"),
            "workforce",
            STYLES["workforce"],
            progress,
        )

    budgets = act.fund_budgets(city, ms, tally, tw_index, pop, seed)
    prepay = act.fund_prepayments(city, ms, budgets, seed)
    insp = act.inspections(city, ms, scale, seed)
    pen = act.penalties(city, ms, scale, seed)
    comp = act.complaints(city, ms, scale, seed)
    for y in years:
        _by_year(out, "fund_budgets", f"fund_budgets_{y}.xlsx", budgets, budgets.year == y, progress)
        _by_year(out, "fund_prepayments", f"fund_prepayments_{y}.csv", prepay, prepay.month.str[:4] == str(y), progress)
        _by_year(out, "inspections", f"inspections_{y}.csv", insp, insp.planned_month.str[:4] == str(y), progress)
        _by_year(
            out, "penalties", f"penalties_{y}.csv", pen, pen.decided_date.apply(lambda d, y=y: d.year == y), progress
        )
        _by_year(
            out,
            "complaints",
            f"complaints_{y}.csv",
            comp,
            comp.received_date.apply(lambda d, y=y: d.year == y),
            progress,
        )
        ri = act.reported_indicators(city, years, seed)
        _by_year(out, "reported_indicators", f"reported_indicators_{y}.xlsx", ri, ri.year == y, progress)
    w(
        out / "supervision_agencies" / "supervision_agencies.csv",
        to_arrow(act.supervision_agencies(city, years, seed), "supervision_agencies"),
        "supervision_agencies",
        STYLES["supervision_agencies"],
        progress,
    )

    summary = {
        "city": geo.CITY_CODE,
        "start": ms[0],
        "months": len(ms),
        "scale": scale,
        "seed": seed,
        "facilities": len(city.facilities),
        "communities": len(city.communities),
        "encounters": enc_rows,
        "files": progress.files,
        "rows": progress.rows,
    }
    progress.note(f"done: {progress.files} files, {progress.rows:,} rows ({enc_rows:,} encounters)")
    return summary


def _by_year(out: Path, feed: str, name: str, df: pd.DataFrame, mask, progress: Progress) -> None:
    part = df[mask] if len(df) else df
    if len(part) == 0:
        return
    write_feed(out / feed / name, to_arrow(part, feed), feed, STYLES[feed], progress)


def summary_json(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2)
