"""Write the whole synthetic city in the inbox layout (`OUT/<feed>/<file>`), or a province
of several cities (`OUT/<feed>/<city code>/<file>`, the province's own rows under
`OUT/<feed>/<province code>/`; `medcom ingest OUT` reads both layouts).

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


def styles_for(name: str) -> dict[str, Style]:
    """Formats per feed for the city called `name` (titles of XLSX files name the city)."""
    short = name.removesuffix("市")
    return {
        "regions": UTF8_EN,
        "facilities": Style(
            fmt="xlsx",
            headers="zh",
            labels="zh",
            dates="excel",
            title_rows=(f"{name}医疗卫生机构名录", f"数据来源：{name}卫生健康委员会 医疗机构登记系统"),
        ),
        "communities": ZH_GBK,
        "memberships": Style(encoding="utf-8-sig", headers="zh", dates="slash"),
        "catchments": Style(dates="compact"),
        "targets": UTF8_EN,
        "population": Style(fmt="xlsx", headers="zh", title_rows=(f"{name}分乡镇常住人口及城乡居民参保人数",)),
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
        "reported_indicators": Style(fmt="xlsx", title_rows=(f"健康{short}行动主要指标监测结果",)),
    }


STYLES = styles_for(geo.CITY_NAME)

ENCOUNTER_STYLES = {
    "411025": Style(encoding="gb18030", headers="zh", labels="zh", units=True),
    "411081": Style(fmt="parquet"),
    "411082": Style(encoding="utf-8-sig", headers="zh", dates="compact", alias_index=1),
    "411003": Style(dates="slash"),
}
# the other cities of a province: by the county's position in its city
_ENCOUNTER_STYLE_CYCLE = [
    UTF8_EN,
    Style(fmt="parquet"),
    Style(encoding="gb18030", headers="zh", labels="zh", units=True),
    Style(encoding="utf-8-sig", headers="zh", dates="compact", alias_index=1),
    Style(dates="slash"),
]


def encounter_style(county: str, spec: geo.CitySpec | None = None) -> Style:
    if spec is None or spec.code == geo.CITY_CODE:
        return ENCOUNTER_STYLES.get(county, UTF8_EN)
    codes = list(spec.counties)
    if county not in codes:
        return UTF8_EN
    return _ENCOUNTER_STYLE_CYCLE[codes.index(county) % len(_ENCOUNTER_STYLE_CYCLE)]


def encounter_path(out: Path, ym: str, county: str, spec: geo.CitySpec | None = None, sub: str = "") -> Path:
    ext = "parquet" if encounter_style(county, spec).fmt == "parquet" else "csv"
    folder = out / "encounters" / sub if sub else out / "encounters"
    return folder / f"encounters_{ym}_{county}.{ext}"


def month_list(start: str, months: int) -> list[str]:
    if months < 1:
        raise ValueError("months must be at least 1")
    return [month_start(start, k).isoformat()[:7] for k in range(months)]


class Layout:
    """Where a city's files go: `OUT/<feed>/<file>` (single city) or `OUT/<feed>/<sub>/<file>`."""

    def __init__(self, out: Path, sub: str = ""):
        self.out = out
        self.sub = sub

    def __call__(self, feed: str, name: str) -> Path:
        return self.out / feed / self.sub / name if self.sub else self.out / feed / name


def write_registry(out: Path, city: City, progress: Progress, layout: Layout | None = None) -> None:
    w = write_feed
    at = layout or Layout(out)
    st = styles_for(city.spec.name)
    w(at("regions", "regions.csv"), to_arrow(city.regions, "regions"), "regions", st["regions"], progress)
    fac = city.facilities.copy()
    # urban streets have community health service centres / stations: use those labels
    street = fac._township.isin(set(city.townships.code[city.townships.street]))
    fac.loc[street & (fac.tier == "township"), "tier"] = "社区卫生服务中心"
    fac.loc[street & (fac.tier == "village"), "tier"] = "社区卫生服务站"
    fac.loc[(fac.tier == "clinic") & fac.name.str.endswith("诊所"), "tier"] = "诊所"
    w(
        at("facilities", "facilities_registry.xlsx"),
        to_arrow(fac, "facilities"),
        "facilities",
        st["facilities"],
        progress,
    )
    w(
        at("communities", "communities.csv"),
        to_arrow(city.communities, "communities"),
        "communities",
        st["communities"],
        progress,
    )
    w(
        at("memberships", "memberships.csv"),
        to_arrow(city.memberships, "memberships"),
        "memberships",
        st["memberships"],
        progress,
    )
    w(
        at("catchments", "catchments.csv"),
        to_arrow(city.catchments, "catchments"),
        "catchments",
        st["catchments"],
        progress,
    )
    if city.spec.code == geo.CITY_CODE:  # Xuchang's local targets (they name its counties)
        w(
            out / "targets_overrides.csv",
            to_arrow(act.target_overrides(), "targets"),
            "targets",
            st["targets"],
            progress,
        )


def write_city(
    out: Path, *, start: str, months: int, scale: float, seed: int, quiet: bool = False, cities: int = 1
) -> dict:
    """The single city (cities = 1, the default: 许昌市 as always) or a province of `cities`
    Henan prefectures."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(quiet)
    ms = month_list(start, months)
    specs = geo.province_specs(cities)
    names = "、".join(s.name for s in specs) if cities > 1 else geo.CITY_NAME
    where = f"{geo.PROVINCE_NAME} ({names})" if cities > 1 else names
    progress.note(f"generating {where} {ms[0]}…{ms[-1]} scale {scale} seed {seed} into {out}")
    if act.month_end(ms[-1]) > dt.date.today():
        progress.note(f"warning: the range reaches past today ({ms[-1]}): ingest will quarantine future-dated rows")
    built = [build_city(seed, scale, spec) for spec in specs]
    hospitals = {
        c.city_code: [
            (r.facility_id, r.county_code) for r in c.facilities[c.facilities.tier == "city"].head(2).itertuples()
        ]
        for c in built
    }
    enc_rows = 0
    for city in built:
        layout = Layout(out, city.city_code if cities > 1 else "")
        others = [h for code, hs in hospitals.items() if code != city.city_code for h in hs]
        enc_rows += _write_one_city(out, city, ms, scale, seed, progress, layout, others)
    if cities > 1:
        _write_province_rows(out, ms, scale, seed, progress)

    summary = {
        "city": geo.CITY_CODE if cities == 1 else [c.city_code for c in built],
        "start": ms[0],
        "months": len(ms),
        "scale": scale,
        "seed": seed,
        "facilities": sum(len(c.facilities) for c in built),
        "communities": sum(len(c.communities) for c in built),
        "encounters": enc_rows,
        "files": progress.files,
        "rows": progress.rows,
    }
    if cities > 1:
        summary["province"] = geo.PROVINCE_CODE
    progress.note(f"done: {progress.files} files, {progress.rows:,} rows ({enc_rows:,} encounters)")
    return summary


def _write_province_rows(out: Path, ms: list[str], scale: float, seed: int, progress: Progress) -> None:
    code = geo.PROVINCE_CODE
    at = Layout(out, code)
    st = styles_for(geo.PROVINCE_NAME)
    region = pd.DataFrame([{"region_code": code, "name": geo.PROVINCE_NAME, "level": "province", "parent_code": None}])
    write_feed(at("regions", "regions.csv"), to_arrow(region, "regions"), "regions", st["regions"], progress)
    rows = act.province_rows(code, act.years_of(ms), ms, scale, seed)
    for feed, df in rows.items():
        ext = "xlsx" if st[feed].fmt == "xlsx" else "csv"
        if len(df):
            write_feed(at(feed, f"{feed}_{code}.{ext}"), to_arrow(df, feed), feed, st[feed], progress)


def _write_one_city(
    out: Path,
    city: City,
    ms: list[str],
    scale: float,
    seed: int,
    progress: Progress,
    layout: Layout,
    other_cities: list[tuple[str, str]],
) -> int:
    years = act.years_of(ms)
    st = styles_for(city.spec.name)
    at = layout
    write_registry(out, city, progress, layout)
    w = write_feed

    pop = act.population(city, years, scale, seed)
    for y in years:
        w(
            at("population", f"population_{y}.xlsx"),
            to_arrow(pop[pop.year == y], "population"),
            "population",
            st["population"],
            progress,
        )
        if city.spec.index > 0:  # one set of weights for the whole warehouse (identity: service, year)
            continue
        w(
            Layout(out)("phs_weights", f"phs_weights_{y}.csv"),
            to_arrow(act.phs_weights([y]), "phs_weights"),
            "phs_weights",
            st["phs_weights"],
            progress,
        )

    # encounters: one file per insured county × month, streamed in chunks
    model = EncounterModel(city, seed, scale, other_cities)
    tw_index = {c: i for i, c in enumerate(model.tw_codes)}
    tally = np.zeros((len(model.tw_codes), len(ms)))
    enc_rows = 0
    for i, ym in enumerate(ms):
        col = np.zeros(len(model.tw_codes))
        for county in model.counties():
            enc_rows += w(
                encounter_path(out, ym, county, city.spec, layout.sub),
                model.month_chunks(county, ym, col),
                "encounters",
                encounter_style(county, city.spec),
                progress,
            )
        tally[:, i] = col

        services, funds = act.phs_month(city, ym, scale, seed)
        sty = st["phs_services_2020"] if ym < "2021" else st["phs_services"]
        w(
            at("phs_services", f"phs_services_{ym}.csv"),
            to_arrow(services, "phs_services"),
            "phs_services",
            sty,
            progress,
        )
        w(
            at("phs_funds", f"phs_funds_{ym}.csv"),
            to_arrow(funds, "phs_funds"),
            "phs_funds",
            st["phs_funds"],
            progress,
        )
        w(
            at("workforce", f"workforce_{ym}.csv"),
            to_arrow(act.workforce_month(city, ym, seed), "workforce"),
            "workforce",
            st["workforce"],
            progress,
        )

    budgets = act.fund_budgets(city, ms, tally, tw_index, pop, seed)
    prepay = act.fund_prepayments(city, ms, budgets, seed)
    insp = act.inspections(city, ms, scale, seed)
    pen = act.penalties(city, ms, scale, seed)
    comp = act.complaints(city, ms, scale, seed)
    for y in years:
        _by_year(at, st, "fund_budgets", f"fund_budgets_{y}.xlsx", budgets, budgets.year == y, progress)
        _by_year(
            at, st, "fund_prepayments", f"fund_prepayments_{y}.csv", prepay, prepay.month.str[:4] == str(y), progress
        )
        _by_year(at, st, "inspections", f"inspections_{y}.csv", insp, insp.planned_month.str[:4] == str(y), progress)
        _by_year(
            at, st, "penalties", f"penalties_{y}.csv", pen, pen.decided_date.apply(lambda d, y=y: d.year == y), progress
        )
        _by_year(
            at,
            st,
            "complaints",
            f"complaints_{y}.csv",
            comp,
            comp.received_date.apply(lambda d, y=y: d.year == y),
            progress,
        )
        ri = act.reported_indicators(city, years, seed)
        _by_year(at, st, "reported_indicators", f"reported_indicators_{y}.xlsx", ri, ri.year == y, progress)
    w(
        at("supervision_agencies", "supervision_agencies.csv"),
        to_arrow(act.supervision_agencies(city, years, seed), "supervision_agencies"),
        "supervision_agencies",
        st["supervision_agencies"],
        progress,
    )
    return enc_rows


def _by_year(at: Layout, st: dict, feed: str, name: str, df: pd.DataFrame, mask, progress: Progress) -> None:
    part = df[mask] if len(df) else df
    if len(part) == 0:
        return
    write_feed(at(feed, name), to_arrow(part, feed), feed, st[feed], progress)


def summary_json(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2)
