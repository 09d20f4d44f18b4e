"""Batch-level expectations: a whole file against the feed's own history (WHO DQR style).

Row rules decide which rows load (`ingest/rules.py`); these expectations judge a file as a
delivery, which no row rule can: is this county-month's volume, mix and cost like the same
county's previous 12 months, did the county's facilities report, do the totals add up?
A failure is a **warning** on the batch; the verdict stays.

The contract names a feed's expectations (`batch:` in feeds.yaml); `EXPECTATIONS` defines
them. Per accepted file, `profile()` (on the ingest writer connection, scratch attached)
computes one row per expectation × coverage key (× group) with the observed value and the
history's statistics into table `dq_eval_<feed>` of the run's DQ file; great-expectations
then validates that table once per feed and run (`expectations/validate.py`), with the
thresholds of `Thresholds` in its queries.

Kinds:
- `volume`: rows per key vs the county's previous 12 months: modified z-score
  0.6745 × (x − median) / MAD (Iglewicz & Hoaglin; when MAD is 0, (x − median) /
  (1.253314 × mean absolute deviation)); a warning when |z| > `volume_z` **and** the change
  from the median is at least `volume_min_change` (a steady county's 3% wobble is no finding);
  or a change of at least `volume_max_change` (40%) whatever z says (a strongly seasonal county
  has a wide MAD: a halved month there has |z| just under 3.5).
- `share` / `mean`: a share of rows (or a mean) outside the county's range of the previous 12
  months, widened by `share_tolerance` (absolute) / `mean_tolerance` (relative).
- `registry`: facilities of the county that reported, as a share of the registry's open
  facilities, below the county's lowest share of the previous 12 months − `facilities_tolerance`.
- `le`: internal consistency over every row the file delivered (quarantined rows too: the
  valid rows satisfy the row rule by construction): sum(a) ≤ sum(b) per key and group.

History = this file's own earlier months, files accepted earlier in this run, then the
warehouse's current rows, in that order of precedence. With fewer than `min_history` earlier
months a key is skipped, with that reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields

import duckdb

from medcom.contract import load_contract


@dataclass(frozen=True)
class Thresholds:
    """Settings (env `MEDCOM_DQ_<NAME>`, e.g. MEDCOM_DQ_VOLUME_Z=3)."""

    min_history: int = 6  # earlier months needed before history-based expectations run
    volume_z: float = 3.5  # |modified z| above this …
    volume_min_change: float = 0.25  # … and at least this change from the usual volume
    volume_max_change: float = 0.40  # a change this large from the usual volume is a finding whatever z says
    share_tolerance: float = 0.05  # shares: 5 percentage points outside the usual range
    mean_tolerance: float = 0.20  # means: 20% outside the usual range
    facilities_tolerance: float = 0.10  # reporting share: 10 points below the usual lowest
    min_rows: int = 100  # a key with fewer rows (this file, or its usual volume) is too small to judge

    @classmethod
    def from_env(cls) -> Thresholds:
        kw = {}
        for f in fields(cls):
            v = os.environ.get(f"MEDCOM_DQ_{f.name.upper()}")
            if v not in (None, ""):
                kw[f.name] = int(v) if f.type in ("int", int) else float(v)
        return cls(**kw)


@dataclass(frozen=True)
class BatchExpectation:
    id: str
    kind: str  # volume | share | mean | registry | le
    label: str  # plain words for the value ("inpatient share")
    description: str
    metric: str = ""  # aggregate SQL over the file's rows (`_fac_cty`: the facility's county)
    other: str = ""  # `le`: the aggregate that must not be exceeded
    by: str = ""  # `le`: group column
    other_label: str = ""  # `le`: plain words for `other`
    label_zh: str = ""
    other_label_zh: str = ""

    def failing_sql(self, t: Thresholds) -> str:
        """SQL condition over `dq_eval_<feed>` rows of this expectation: TRUE = warning."""
        h = f"history_months >= {t.min_history} AND n_rows >= {t.min_rows}"
        if self.kind == "volume":
            return (
                f"history_months >= {t.min_history} AND usual >= {t.min_rows} AND ((abs(z) > {t.volume_z} "
                f"AND abs(observed / usual - 1) >= {t.volume_min_change}) "
                f"OR abs(observed / usual - 1) >= {t.volume_max_change})"
            )
        if self.kind == "share":
            return f"{h} AND (observed < low - {t.share_tolerance} OR observed > high + {t.share_tolerance})"
        if self.kind == "mean":
            return f"{h} AND (observed < low * (1 - {t.mean_tolerance}) OR observed > high * (1 + {t.mean_tolerance}))"
        if self.kind == "registry":
            return f"{h} AND observed < low - {t.facilities_tolerance}"
        if self.kind == "le":
            return "observed > other + 0.005"
        raise ValueError(self.kind)

    @property
    def uses_history(self) -> bool:
        return self.kind in ("volume", "share", "mean", "registry")


_FEED_NOUN = {"encounters": "encounters", "phs_services": "service rows", "workforce": "facility reports"}
_FEED_NOUN_ZH = {"encounters": "人次", "phs_services": "条服务记录", "workforce": "份机构月报"}

_LIST = [
    BatchExpectation(
        "volume",
        "volume",
        "rows",
        "rows per county-month within the county's usual volume (modified z-score vs the previous 12 months)",
        "count(*)",
        label_zh="数据量",
    ),
    BatchExpectation(
        "inpatient_share",
        "share",
        "inpatient share",
        "inpatient share of encounters within the county's range of the previous 12 months",
        "avg(CASE WHEN encounter_type = 'inpatient' THEN 1.0 ELSE 0.0 END)",
        label_zh="住院占比",
    ),
    BatchExpectation(
        "self_pay_share",
        "share",
        "self-pay share",
        "self-pay share of encounters within the county's range of the previous 12 months",
        "avg(CASE WHEN scheme = 'self_pay' THEN 1.0 ELSE 0.0 END)",
        label_zh="自费占比",
    ),
    BatchExpectation(
        "out_of_county_share",
        "share",
        "out-of-county share",
        "share of encounters at facilities outside the insured county within the county's range "
        "of the previous 12 months",
        "avg(CASE WHEN coalesce(_fac_cty, facility_county_code, '') <> left(insured_township_code, 6) "
        "THEN 1.0 ELSE 0.0 END)",
        label_zh="县外就诊占比",
    ),
    BatchExpectation(
        "mean_cost",
        "mean",
        "mean cost per encounter",
        "mean cost per encounter within the county's range of the previous 12 months",
        "avg(CAST(total_cost AS DOUBLE))",
        label_zh="次均费用",
    ),
    BatchExpectation(
        "facilities_reporting",
        "registry",
        "facilities reporting",
        "share of the county's registry facilities with encounters not below the county's usual lowest share",
        "count(DISTINCT CASE WHEN _fac_cty = split_part(_coverage_key, ':', 1) THEN facility_id END)",
        label_zh="报送机构",
    ),
    BatchExpectation(
        "fund_le_total_by_scheme",
        "le",
        "fund_paid",
        "in every scheme, the file's fund_paid in total is not larger than its total_cost in total",
        "sum(CAST(fund_paid AS DOUBLE))",
        "sum(CAST(total_cost AS DOUBLE))",
        "scheme",
        "total_cost",
        "基金支付（fund_paid）",
        "总费用（total_cost）",
    ),
    BatchExpectation(
        "e_registered_le_registered",
        "le",
        "e-registered physicians and nurses",
        "per county-month, e-registered physicians and nurses in total are not more than those registered",
        "sum(CAST(physicians_e_registered AS DOUBLE) + CAST(nurses_e_registered AS DOUBLE))",
        "sum(CAST(physicians AS DOUBLE) + CAST(nurses AS DOUBLE))",
        "",
        "registered physicians and nurses",
        "电子化注册医师和护士",
        "注册医师和护士",
    ),
]
EXPECTATIONS: dict[str, BatchExpectation] = {e.id: e for e in _LIST}


def for_feed(feed: str) -> list[BatchExpectation]:
    out = []
    for name in load_contract().feeds[feed].batch:
        if name not in EXPECTATIONS:
            raise ValueError(f"{feed}: no implementation for batch expectation {name}")
        out.append(EXPECTATIONS[name])
    return out


def eval_table(feed: str) -> str:
    return f"dq_eval_{feed}"


EVAL_DDL = """CREATE TABLE IF NOT EXISTS {db}.{table} (
    batch_id VARCHAR, expectation VARCHAR, key VARCHAR, org VARCHAR, period VARCHAR, grp VARCHAR,
    observed DOUBLE, usual DOUBLE, low DOUBLE, high DOUBLE, z DOUBLE, history_months INTEGER,
    reported DOUBLE, other DOUBLE, n_rows BIGINT)"""


def _monthly(feed: str) -> bool:
    """Feeds whose coverage keys are `<org>:<YYYY-MM>` (history is by month)."""
    cov = load_contract().feeds[feed].coverage or ""
    return cov.endswith("month")


def _rows_sql(feed: str, source: str, has_fac: bool, fac_table: str | None) -> str:
    """The rows of `source` with `_fac_cty` (the facility's registry county) when the feed has
    facility_id; `fac_table` None: `source` is scratch `typed`, which has it as `_fac_county`."""
    if not has_fac:
        return f"(SELECT s.*, CAST(NULL AS VARCHAR) AS _fac_cty FROM {source} s)"
    if fac_table is None:
        return f"(SELECT s.*, s._fac_county AS _fac_cty FROM {source} s)"
    return (
        f"(SELECT s.*, f.county_code AS _fac_cty FROM {source} s LEFT JOIN "
        f"(SELECT facility_id, any_value(county_code) AS county_code FROM {fac_table} GROUP BY facility_id) f "
        f"ON f.facility_id = s.facility_id)"
    )


def profile(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    batch_id: str,
    alias: str,
    wh: str,
    run_id: str,
    dq_db: str = "dqctx",
    run_db: str = "runctx",
) -> int:
    """Rows of `dq_db.dq_eval_<feed>` for one accepted file (scratch `alias`: typed, reasons).

    Also appends the file's per-key values to `run_db.dq_keys_<feed>` (the run's history).
    Returns the number of rows written.
    """
    exps = for_feed(feed)
    if not exps:
        return 0
    cols = load_contract().feeds[feed].columns
    has_fac = "facility_id" in cols
    table = eval_table(feed)
    con.execute(EVAL_DDL.format(db=dq_db, table=table))
    n0 = con.execute(f"SELECT count(*) FROM {dq_db}.{table}").fetchone()[0]
    valid = f"(SELECT * FROM {alias}.typed ANTI JOIN {alias}.reasons USING (_row_number))"
    hist_exps = [e for e in exps if e.uses_history]
    if hist_exps and _monthly(feed):
        _history_rows(con, feed, batch_id, alias, wh, run_id, dq_db, run_db, hist_exps, has_fac, valid)
    for e in exps:
        if e.kind != "le":
            continue
        rows = _rows_sql(feed, f"{alias}.typed", has_fac, None)
        grp = f"CAST({e.by} AS VARCHAR)" if e.by else "CAST(NULL AS VARCHAR)"
        con.execute(
            f"""INSERT INTO {dq_db}.{table} (batch_id, expectation, key, org, period, grp, observed, other, n_rows)
            SELECT ?, ?, _coverage_key, split_part(_coverage_key, ':', 1), split_part(_coverage_key, ':', 2),
                   {grp}, {e.metric}, {e.other}, count(*)
            FROM {rows} WHERE _coverage_key IS NOT NULL GROUP BY ALL""",
            [batch_id, e.id],
        )
    return con.execute(f"SELECT count(*) FROM {dq_db}.{table}").fetchone()[0] - n0


def _history_rows(con, feed, batch_id, alias, wh, run_id, dq_db, run_db, exps, has_fac, valid) -> None:
    metrics = ", ".join(f"CAST({e.metric} AS DOUBLE) AS m_{e.id}" for e in exps)
    keyed = (
        "_coverage_key AS key, split_part(_coverage_key, ':', 1) AS org, "
        "CAST(split_part(_coverage_key, ':', 2) || '-01' AS DATE) AS month"
    )
    # this file, per key
    src = _rows_sql(feed, valid, has_fac, None)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dq_self AS SELECT {keyed}, count(*) AS n_rows, {metrics}
        FROM {src} WHERE _coverage_key IS NOT NULL AND _coverage_key LIKE '%:____-__' GROUP BY ALL"""
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS {run_db}.dq_keys_{feed} AS SELECT * FROM _dq_self LIMIT 0")
    # the keys whose history we need: the same org's 12 months before each key
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _dq_needed AS
        SELECT DISTINCT s.org || ':' || strftime(s.month - to_months(CAST(r.i AS INTEGER)), '%Y-%m') AS key
        FROM _dq_self s, range(1, 13) r(i)"""
    )
    wh_rows = _rows_sql(
        feed,
        f"(SELECT * FROM {wh}.raw.{feed} WHERE _superseded_by IS NULL AND _run_id <> '{run_id}' "
        f"AND _coverage_key IN (SELECT key FROM _dq_needed))",
        has_fac,
        f"(SELECT * FROM {wh}.raw.facilities WHERE _superseded_by IS NULL)",
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dq_hist AS
        SELECT * FROM _dq_self
        UNION ALL
        SELECT * FROM {run_db}.dq_keys_{feed}
          WHERE key IN (SELECT key FROM _dq_needed) AND key NOT IN (SELECT key FROM _dq_self)
        UNION ALL
        SELECT * FROM (SELECT {keyed}, count(*) AS n_rows, {metrics} FROM {wh_rows} GROUP BY ALL)
          WHERE key NOT IN (SELECT key FROM _dq_self) AND key NOT IN (SELECT key FROM {run_db}.dq_keys_{feed})"""
    )
    con.execute(f"INSERT INTO {run_db}.dq_keys_{feed} SELECT * FROM _dq_self")
    table = eval_table(feed)
    for e in exps:
        m = f"m_{e.id}"
        obs, hist = f"s.{m}", f"x.{m}"
        reported = "NULL"
        registry = ""
        if e.kind == "registry":
            # open registry facilities of the org in the month (current snapshot)
            registry = """
            , reg AS (SELECT k.org, k.month, count(f.facility_id) AS n FROM
                (SELECT DISTINCT org, month FROM _dq_hist) k LEFT JOIN temp.ref_facilities f
                ON f.county_code = k.org AND (f.opened_on IS NULL OR f.opened_on <= last_day(k.month))
                AND (f.closed_on IS NULL OR f.closed_on >= k.month) GROUP BY ALL)"""
            obs = f"s.{m} / nullif(rs.n, 0)"
            hist = f"x.{m} / nullif(rx.n, 0)"
            reported = f"s.{m}"
        join_s = "LEFT JOIN reg rs ON rs.org = s.org AND rs.month = s.month" if registry else ""
        join_x = "LEFT JOIN reg rx ON rx.org = x.org AND rx.month = x.month" if registry else ""
        con.execute(
            f"""INSERT INTO {dq_db}.{table}
            WITH base AS (SELECT 1){registry},
            obs AS (SELECT s.key, s.org, s.month, s.n_rows, {obs} AS observed, {reported} AS reported,
                           {"rs.n" if registry else "NULL"} AS other
                    FROM _dq_self s {join_s}),
            h AS (SELECT s.key, {hist} AS v FROM _dq_self s JOIN _dq_hist x {join_x}
                  ON x.org = s.org AND x.month < s.month AND x.month >= s.month - INTERVAL 12 MONTH
                  WHERE {hist} IS NOT NULL),
            st AS (SELECT key, count(*) AS n, median(v) AS med, mad(v) AS mad, min(v) AS lo, max(v) AS hi
                   FROM h GROUP BY key),
            md AS (SELECT h.key, avg(abs(h.v - st.med)) AS meanad FROM h JOIN st USING (key) GROUP BY h.key)
            SELECT ?, ?, o.key, o.org, strftime(o.month, '%Y-%m'), NULL, o.observed, st.med, st.lo, st.hi,
                   CASE WHEN st.n IS NULL OR o.observed IS NULL THEN NULL
                        WHEN st.mad > 0 THEN 0.6745 * (o.observed - st.med) / st.mad
                        WHEN md.meanad > 0 THEN (o.observed - st.med) / (1.253314 * md.meanad)
                        WHEN o.observed = st.med THEN 0
                        ELSE sign(o.observed - st.med) * 1e9 END,
                   coalesce(st.n, 0), o.reported, o.other, o.n_rows
            FROM obs o LEFT JOIN st USING (key) LEFT JOIN md USING (key)""",
            [batch_id, e.id],
        )


# ----------------------------------------------------------------------- plain words
def _n(x) -> str:
    return f"{x:,.0f}"


def message(e: BatchExpectation, row: dict, feed: str, lang: str = "en") -> str:
    """One failing row of `dq_eval_<feed>` in plain words (`lang` en or zh)."""
    zh = lang == "zh"
    grp = f" {row['grp']}" if row.get("grp") else ""
    where = f"{row['org']} {row['period']}{grp}" + ("：" if zh else ": ")
    obs, usual, lo, hi = row.get("observed"), row.get("usual"), row.get("low"), row.get("high")
    label = e.label_zh if zh else e.label
    if e.kind == "volume":
        change = obs / usual - 1
        if zh:
            noun = _FEED_NOUN_ZH.get(feed, "行")
            return f"{where}{_n(obs)} {noun}，比常态 {_n(usual)} {'低' if change < 0 else '高'} {abs(change):.0%}"
        word = "below" if change < 0 else "above"
        return f"{where}{_n(obs)} {_FEED_NOUN.get(feed, 'rows')}, {abs(change):.0%} {word} its usual {_n(usual)}"
    if e.kind == "share":
        if zh:
            return f"{where}{label} {obs:.1%}，超出常态范围 {lo:.1%}–{hi:.1%}"
        return f"{where}{label} {obs:.1%}, outside its usual {lo:.1%}–{hi:.1%}"
    if e.kind == "mean":
        if zh:
            return f"{where}{label} {obs:,.2f} 元，超出常态范围 {lo:,.2f}–{hi:,.2f}"
        return f"{where}{label} {obs:,.2f} yuan, outside its usual {lo:,.2f}–{hi:,.2f}"
    if e.kind == "registry":
        if zh:
            return (
                f"{where}登记机构 {_n(row['other'])} 家中 {_n(row['reported'])} 家报送（{obs:.0%}），"
                f"低于常态最低 {lo:.0%}"
            )
        return (
            f"{where}{_n(row['reported'])} of {_n(row['other'])} registry facilities reported ({obs:.0%}), "
            f"below its usual lowest {lo:.0%}"
        )
    if e.kind == "le":
        if zh:
            return f"{where}{label}合计 {obs:,.2f}，大于{e.other_label_zh} {row['other']:,.2f}"
        return f"{where}{label} {obs:,.2f} in total, more than {e.other_label} {row['other']:,.2f}"
    raise ValueError(e.kind)


def skip_reason(row: dict, t: Thresholds) -> str:
    h = int(row.get("history_months") or 0)
    where = f"{row['org']} {row['period']}"
    if h < t.min_history:
        return f"{where}: only {h} earlier month{'s' if h != 1 else ''} of history (needs {t.min_history})"
    n = int(row.get("n_rows") or 0)
    return f"{where}: only {n:,} rows (needs {t.min_rows:,} to judge)"


def is_skipped(e: BatchExpectation, row: dict, t: Thresholds) -> bool:
    """A key a history-based expectation does not judge: too little history, or too few rows."""
    if not e.uses_history:
        return False
    if int(row.get("history_months") or 0) < t.min_history:
        return True
    size = row.get("usual") if e.kind == "volume" else row.get("n_rows")
    return size is None or size < t.min_rows


def observed_json(e: BatchExpectation, rows: list[dict]) -> str:
    """Observed values of one expectation for one batch (every key), as JSON text."""
    keep = ("key", "grp", "observed", "usual", "low", "high", "z", "history_months", "reported", "other", "n_rows")
    out = []
    for r in rows:
        d = {k: r.get(k) for k in keep if r.get(k) is not None}
        for k, v in list(d.items()):
            if isinstance(v, float):
                d[k] = round(v, 4)
        out.append(d)
    return json.dumps({"keys": out}, ensure_ascii=False)
