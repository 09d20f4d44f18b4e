"""League tables: counties (and the communities of a county) ranked per scored KPI, plus a
weighted composite ranking. Plain functions over kpi_values-shaped frames.

- Figures of a month (`figures`): the newest closed revision when the month is closed
  (`source="auto"` or `"closed"`), else today's `marts.kpi_values` (`"current"`).
- Per KPI (direction `>=` or `<=`): the orgs with a scored value (status not `no_data` /
  `insufficient`) ranked in the KPI's direction, ties sharing the best rank (1, 2, 2, 4);
  the change in rank since the previous month's figures (positive = moved up); the gap to
  target, value − target (negative = below for `>=`, above-target is the miss for `<=`).
- Composite: for each KPI weighted in `marts.league_weights` (overridable per KPI by
  MEDCOM_LEAGUE_WEIGHTS="code=weight,…"), points = 100 × (n − rank) / (n − 1) among the n
  ranked orgs (100 when n = 1); composite = Σ weight × points ÷ Σ weight over the KPIs the
  org is ranked in.
"""

from __future__ import annotations

import os
from datetime import date

import duckdb
import pandas as pd

from medcom.closing.store import KPI_COLUMNS, closed_rows, current_rows, latest_revision
from medcom.errors import MedcomError

PERIOD_PREFERENCE = ("month", "ytd", "year")
UNRANKED = ("no_data", "insufficient")
FORMULA = {
    "zh": "综合得分 = Σ(权重ₖ × 得分ₖ) ÷ Σ权重ₖ，得分ₖ = 100 × (n − 名次ₖ) ÷ (n − 1)（n 为该指标参与排名的单位数）",
    "en": "composite = Σ(weightₖ × pointsₖ) ÷ Σweightₖ, pointsₖ = 100 × (n − rankₖ) ÷ (n − 1) (n = units ranked on KPI k)",
}


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def figures(con: duckdb.DuckDBPyConnection, month: date, source: str = "auto") -> tuple[pd.DataFrame, dict | None]:
    """(rows, close) for a month: the closed rows of its newest revision and that close's record, or
    today's rows and None."""
    close = latest_revision(con, month) if source in ("auto", "closed") else None
    if source == "closed" and close is None:
        raise MedcomError(f"{month:%Y-%m} is not closed")
    df = closed_rows(con, month, int(close["revision"])) if close else current_rows(con, month)
    df = df[list(KPI_COLUMNS)].copy()
    df["org_id"] = df.org_id.astype(str)
    df["period"] = pd.to_datetime(df.period).dt.date
    return df, close


def pick_period(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per KPI × org, as the scorecard shows it: the KPI's month rows, else its YTD rows, else
    each org's latest year row (the period type is chosen per KPI, for all orgs alike)."""
    if rows.empty:
        return rows
    df = rows.copy()
    df["_rank"] = df.period_type.map({p: i for i, p in enumerate(PERIOD_PREFERENCE)}).fillna(9)
    best = df.groupby("kpi_code")["_rank"].transform("min")
    df = df[df._rank == best].sort_values("period", ascending=False)
    return df.drop_duplicates(["kpi_code", "org_level", "org_id"]).drop(columns="_rank")


def scored_kpis(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cols = {r[0] for r in con.execute("DESCRIBE marts.dim_kpi").fetchall()}
    order = "display_order, " if "display_order" in cols else ""
    return con.execute(
        "SELECT kpi_code, name_zh, name_en, family, unit, direction FROM marts.dim_kpi "
        f"WHERE direction IN ('>=', '<=') ORDER BY family, {order}kpi_code"
    ).df()


def rank_values(df: pd.DataFrame, direction: str) -> pd.Series:
    """Competition rank (1 = best) of df.value in the KPI's direction; NaN where unranked."""
    ok = df.value.notna() & ~df.status.isin(UNRANKED)
    vals = df.value.where(ok).round(9)
    return vals.rank(method="min", ascending=(direction == "<="))


def league(now: pd.DataFrame, before: pd.DataFrame, kpi_code: str, direction: str, orgs: pd.DataFrame) -> pd.DataFrame:
    """League table of one KPI over `orgs` (org_level, org_id, name): rank, org, value, target, gap,
    status, previous rank, rank change; ranked orgs first, then the unranked."""
    cur = pick_period(now[now.kpi_code == kpi_code])
    keys = orgs[["org_level", "org_id", "name"]]
    cur = keys.merge(cur, on=["org_level", "org_id"], how="inner")
    if cur.empty:
        return pd.DataFrame(
            columns=[
                "rank",
                "org_level",
                "org_id",
                "name",
                "period_type",
                "period",
                "value",
                "target",
                "gap",
                "status",
                "prev_rank",
                "rank_change",
            ]  # fmt: skip
        )
    cur["rank"] = rank_values(cur, direction)
    prev = pick_period(before[before.kpi_code == kpi_code]) if not before.empty else before
    if not prev.empty:
        prev = keys.merge(prev, on=["org_level", "org_id"], how="inner")
        prev["prev_rank"] = rank_values(prev, direction)
        cur = cur.merge(prev[["org_level", "org_id", "prev_rank"]], on=["org_level", "org_id"], how="left")
    else:
        cur["prev_rank"] = float("nan")
    cur["rank_change"] = cur.prev_rank - cur["rank"]
    cur["gap"] = cur.value - cur.target
    cur = cur.sort_values(["rank", "org_id"], na_position="last")
    return cur[
        [
            "rank",
            "org_level",
            "org_id",
            "name",
            "period_type",
            "period",
            "value",
            "target",
            "gap",
            "status",
            "prev_rank",
            "rank_change",
        ]  # fmt: skip
    ].reset_index(drop=True)


def weights(con: duckdb.DuckDBPyConnection, setting: str | None = None) -> dict[str, float]:
    """Composite weights: the `league_weights` seed, overridden per KPI by MEDCOM_LEAGUE_WEIGHTS."""
    scored = set(scored_kpis(con).kpi_code)
    has_seed = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'league_weights'"
    ).fetchone()[0]
    if has_seed:
        w = {k: float(v) for k, v in con.execute("SELECT kpi_code, weight FROM marts.league_weights").fetchall()}
    else:
        w = {k: 1.0 for k in scored}
    text = os.environ.get("MEDCOM_LEAGUE_WEIGHTS", "") if setting is None else setting
    for item in filter(None, (x.strip() for x in text.split(","))):
        code, _, num = item.partition("=")
        code = code.strip()
        if code not in scored:
            raise MedcomError(f"MEDCOM_LEAGUE_WEIGHTS: '{code}' is not a scored KPI code")
        try:
            value = float(num)
        except ValueError:
            raise MedcomError(f"MEDCOM_LEAGUE_WEIGHTS: the weight of {code} is not a number: '{num}'") from None
        if value < 0:
            raise MedcomError(f"MEDCOM_LEAGUE_WEIGHTS: the weight of {code} must be ≥ 0")
        w[code] = value
    return {k: v for k, v in w.items() if v > 0 and k in scored}


def points(rank: pd.Series) -> pd.Series:
    n = rank.notna().sum()
    if n <= 1:
        return rank.where(rank.isna(), 100.0)
    return 100.0 * (n - rank) / (n - 1)


def composite(tables: dict[str, pd.DataFrame], w: dict[str, float], orgs: pd.DataFrame) -> pd.DataFrame:
    """Composite ranking from per-KPI league tables ({kpi_code: league(...)}); columns org_level,
    org_id, name, score, kpis (how many KPIs counted), rank."""
    frames = []
    for code, tb in tables.items():
        if code not in w or tb.empty:
            continue
        part = tb[["org_level", "org_id", "rank"]].copy()
        part["points"] = points(part["rank"])
        part["weight"] = w[code]
        frames.append(part.dropna(subset=["points"]))
    base = orgs[["org_level", "org_id", "name"]].copy()
    if not frames:
        base["score"], base["kpis"], base["rank"] = float("nan"), 0, float("nan")
        return base
    allp = pd.concat(frames)
    allp["wp"] = allp.points * allp.weight
    agg = allp.groupby(["org_level", "org_id"]).agg(wp=("wp", "sum"), w=("weight", "sum"), kpis=("points", "size"))
    agg["score"] = agg.wp / agg.w
    out = base.merge(agg[["score", "kpis"]].reset_index(), on=["org_level", "org_id"], how="left")
    out["kpis"] = out.kpis.fillna(0).astype(int)
    out["rank"] = out.score.round(9).rank(method="min", ascending=False)
    return out.sort_values(["rank", "org_id"], na_position="last").reset_index(drop=True)


def org_frame(con: duckdb.DuckDBPyConnection, level: str, parent: str | None = None) -> pd.DataFrame:
    sql = "SELECT org_level, org_id, name FROM marts.dim_org WHERE org_level = ?"
    params: list = [level]
    if parent is not None:
        sql += " AND parent_id = ?"
        params.append(parent)
    df = con.execute(sql + " ORDER BY org_id", params).df()
    df["org_id"] = df.org_id.astype(str)
    return df


def league_tables(
    con: duckdb.DuckDBPyConnection, month: date, level: str = "county", parent: str | None = None,
    source: str = "auto",
    frames: tuple[pd.DataFrame, dict | None, pd.DataFrame] | None = None,
) -> dict:  # fmt: skip
    """Every scored KPI's league table for `level` orgs (optionally the children of `parent`), with the
    composite: {'month', 'close', 'tables': {kpi_code: df}, 'kpis': dim rows, 'composite': df,
    'weights': {...}}."""
    if frames is None:
        now, close = figures(con, month, source)
        before, _ = figures(con, previous_month(month), "current" if source == "current" else "auto")
    else:
        now, close, before = frames
    orgs = org_frame(con, level, parent)
    kpis = scored_kpis(con)
    tables = {}
    for k in kpis.itertuples():
        tb = league(now, before, k.kpi_code, k.direction, orgs)
        if not tb.empty and tb["rank"].notna().any():
            tables[k.kpi_code] = tb
    w = weights(con)
    comp = composite(tables, w, orgs)
    empty = now.iloc[0:0]
    prev_tables = {
        c: league(before, empty, c, k.direction, orgs) for k in kpis.itertuples() if (c := k.kpi_code) in tables
    }
    prev = composite(prev_tables, w, orgs)[["org_level", "org_id", "rank"]].rename(columns={"rank": "prev_rank"})
    comp = comp.merge(prev, on=["org_level", "org_id"], how="left")
    comp["rank_change"] = comp.prev_rank - comp["rank"]
    return {
        "month": month,
        "close": close,
        "tables": tables,
        "kpis": kpis,
        "composite": comp,
        "weights": w,
    }
