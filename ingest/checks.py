"""Row checks derived from the feed contract, and their evaluation on table `typed`.

`compile_checks(feed)` returns the checks in the order that decides a row's one reason:
row shape, then per column (contract order) required / parse / format / allowed code,
then ranges and event dates, then the feed's row rules (`ingest.rules`), then cross-feed
references,
then uniqueness (reference feeds), then duplicates within the run.

`invalid_sql` is a boolean SQL expression over table `typed` (after `crossfeed.enrich`),
TRUE when the row breaks the rule; NULL counts as not broken. A reason may contain
`{value}` (the original text of the check's first column) or `{shape_error}`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb

from ingest import rules
from medcom.contract import Column, load_contract

EARLIEST_EVENT = dt.date(2015, 1, 1)
DUPLICATE_REASON = "duplicate of an earlier row in this run (same identity)"


@dataclass(frozen=True)
class Check:
    id: str  # stable, e.g. "encounters.fund_paid.le_total_cost"
    reason: str  # plain words, e.g. "fund_paid is larger than total_cost"
    invalid_sql: str  # SQL over table `typed`: TRUE when the row breaks the rule
    columns: tuple[str, ...]


def today_shanghai() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


_PARSE_WORDS = {
    "date": "is not a valid date",
    "month": "is not a valid month",
    "year": "is not a valid year",
    "int": "is not a whole number",
    "money": "is not a valid amount",
    "number": "is not a valid number",
    "bool": "is not true/false",
    "enum": "is not an allowed code",
}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _q(c: str) -> str:
    return '"' + c + '"'


def _column_parse_checks(feed: str, col: Column) -> list[Check]:
    c, src = _q(col.name), _q(col.name + "__src")
    out = []
    if col.not_null and col.default is None:
        out.append(
            Check(f"{feed}.{col.name}.required", f"{col.name}: value is required", f"{src} IS NULL", (col.name,))
        )
    if col.type in _PARSE_WORDS:
        out.append(
            Check(
                f"{feed}.{col.name}.parse",
                f"{col.name}: '{{value}}' {_PARSE_WORDS[col.type]}",
                f"{src} IS NOT NULL AND {c} IS NULL",
                (col.name,),
            )
        )
    if col.pattern:
        pat = col.pattern.replace("'", "''")
        out.append(
            Check(
                f"{feed}.{col.name}.pattern",
                f"{col.name}: '{{value}}' does not have the expected format",
                f"{c} IS NOT NULL AND NOT regexp_matches({c}, '{pat}')",
                (col.name,),
            )
        )
    return out


def _column_range_checks(feed: str, col: Column, today: dt.date) -> list[Check]:
    c = _q(col.name)
    out = []
    if col.min is not None:
        out.append(
            Check(f"{feed}.{col.name}.min", f"{col.name}: must be ≥ {_num(col.min)}", f"{c} < {col.min}", (col.name,))
        )
    if col.min_exclusive is not None:
        out.append(
            Check(
                f"{feed}.{col.name}.gt",
                f"{col.name}: must be > {_num(col.min_exclusive)}",
                f"{c} <= {col.min_exclusive}",
                (col.name,),
            )
        )
    if col.max is not None:
        out.append(
            Check(f"{feed}.{col.name}.max", f"{col.name}: must be ≤ {_num(col.max)}", f"{c} > {col.max}", (col.name,))
        )
    if col.event:
        out.append(
            Check(
                f"{feed}.{col.name}.not_before_2015",
                f"{col.name}: date is before {EARLIEST_EVENT.isoformat()}",
                f"{c} < DATE '{EARLIEST_EVENT.isoformat()}'",
                (col.name,),
            )
        )
        out.append(
            Check(
                f"{feed}.{col.name}.not_after_ingest_day",
                f"{col.name}: date is after the day of ingest",
                f"{c} > DATE '{today.isoformat()}'",
                (col.name,),
            )
        )
    return out


def _rule_checks(feed: str, rule_id: str) -> list[Check]:
    r = rules.rule(rule_id, feed)
    return [Check(r.check_id(feed, p), p.reason, p.sql, p.columns) for p in r.parts]


def _ref_checks(feed: str, col: Column) -> list[Check]:
    r = rules.ref(col.ref)
    if r.parts:
        return [
            Check(
                f"{feed}.{col.name}.{p.sub}",
                p.reason.replace("{col}", col.name),
                p.sql.replace("{col}", col.name),
                p.columns or (col.name,),
            )
            for p in r.parts
        ]
    return [
        Check(
            f"{feed}.{col.name}.ref_{r.id}", r.reason.replace("{col}", col.name), f'"_ref_bad__{col.name}"', (col.name,)
        )
    ]


def compile_checks(feed_name: str, today: dt.date | None = None) -> list[Check]:
    """The feed's checks, in the order that picks a row's reason."""
    feed = load_contract().feeds[feed_name]
    today = today or today_shanghai()
    cols = list(feed.columns.values())
    checks = [Check(f"{feed_name}.row_shape", "{shape_error}", "_shape_error IS NOT NULL", ())]
    for col in cols:
        checks += _column_parse_checks(feed_name, col)
    for col in cols:
        checks += _column_range_checks(feed_name, col, today)
    for rule in feed.rules:
        checks += _rule_checks(feed_name, rule)
    for col in cols:
        if col.ref:
            checks += _ref_checks(feed_name, col)
    for col in cols:
        if col.unique:
            checks.append(
                Check(
                    f"{feed_name}.{col.name}.unique",
                    f"{col.name}: value is not unique in the file",
                    f'"_nonunique__{col.name}"',
                    (col.name,),
                )
            )
    if feed.identity:
        checks.append(
            Check(f"{feed_name}.identity.no_duplicate_in_run", DUPLICATE_REASON, "_dup", tuple(feed.identity))
        )
    return checks


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def reason_sql(check: Check) -> str:
    """SQL expression giving the check's reason text for a row."""
    if check.reason == "{shape_error}":
        return "_shape_error"
    if "{value}" in check.reason:
        before, after = check.reason.split("{value}", 1)
        src = _q(check.columns[0] + "__src")
        return f"({_sql_str(before)} || coalesce({src}, '') || {_sql_str(after)})"
    return _sql_str(check.reason)


def _case(checks: list[Check]) -> str:
    whens = " ".join(f"WHEN coalesce(({c.invalid_sql}), false) THEN {reason_sql(c)}" for c in checks)
    return f"CASE {whens} END"


def evaluate(con: duckdb.DuckDBPyConnection, checks: list[Check], run_ids: str | None = None) -> None:
    """Create table `reasons(_row_number, reason)` holding the invalid rows only.

    Duplicates are decided last, among the rows valid otherwise: the first row of an identity
    (by row number) stays valid unless an earlier file of the run (`run_ids`, a table with
    column `identity`) loaded it. `typed._dup` is set for the duplicates.
    """
    dup = [c for c in checks if c.invalid_sql == "_dup"]
    others = [c for c in checks if c.invalid_sql != "_dup"]
    case = _case(others) if others else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TABLE reasons AS SELECT _row_number, reason FROM "
        f"(SELECT _row_number, {case} AS reason FROM typed) WHERE reason IS NOT NULL"
    )
    if dup:
        earlier = ""
        if run_ids and con.execute(f"SELECT count(*) > 0 FROM {run_ids}").fetchone()[0]:
            # an inner join builds its hash table on this file's identities and prunes the
            # run's identity table by their min/max (files are mostly one insured county)
            earlier = f"""
            UNION
            SELECT v._row_number FROM (SELECT _row_number, _identity FROM typed ANTI JOIN reasons USING (_row_number)) v
            JOIN {run_ids} i ON i.identity = v._identity"""
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _dups AS
            SELECT _row_number FROM (
              SELECT t._row_number, t._identity,
                     row_number() OVER (PARTITION BY t._identity ORDER BY t._row_number) AS k
              FROM typed t ANTI JOIN reasons r USING (_row_number)
            ) WHERE k > 1{earlier}"""
        )
        if con.execute("SELECT count(*) FROM _dups").fetchone()[0]:
            con.execute("UPDATE typed SET _dup = true WHERE _row_number IN (SELECT _row_number FROM _dups)")
            con.execute(f"INSERT INTO reasons SELECT _row_number, {_sql_str(DUPLICATE_REASON)} FROM _dups")
        con.execute("DROP TABLE _dups")
