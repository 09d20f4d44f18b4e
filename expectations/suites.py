"""Great-expectations suites derived from the feed contract and the ingest checks.

A feed's suite runs on scratch table `typed` (docs/architecture.md "Ingest internals") and
holds, in this order:

1. table level: `expect_table_row_count_to_be_between(min_value=1)` and
   `expect_table_columns_to_match_set` (every contract column plus `_row_number` exists;
   extra columns such as `<col>__src` are allowed);
2. native column expectations where the contract states them directly:
   `expect_column_values_to_not_be_null` (contract `not_null`),
   `expect_column_values_to_be_in_set` (enum columns: the canonical codes),
   `expect_column_values_to_be_between` (numeric `min` / `max` / `min_exclusive`),
   `expect_column_values_to_be_unique` (contract `unique`);
3. one `unexpected_rows_expectation` per ingest check (`ingest.checks.compile_checks(feed)`:
   `id`, `reason`, `invalid_sql` over `typed`, `columns`): the rows for which
   `invalid_sql` is TRUE are the unexpected rows.

Regex expectations are deliberately not used: GX reports "Regex is not supported for
dialect duckdb" and returns no result. Pattern rules reach GX through the checks' SQL.

Every expectation carries `meta.medcom_id` (stable id, e.g. `encounters.total_cost.not_null`,
`check:encounters.fund_paid.le_total_cost`) and a plain-words `description`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from medcom.contract import load_contract

NUMERIC_TYPES = {"int", "money", "number", "year"}


class CheckLike(Protocol):
    id: str
    reason: str
    invalid_sql: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of a suite before it becomes a GX object."""

    medcom_id: str  # stable id, unique in the suite
    type: str  # GX expectation type (snake case)
    kwargs: dict[str, Any]
    description: str  # plain words

    @property
    def name(self) -> str:
        """Readable name used in audit.dq_results.expectation."""
        return self.medcom_id


def _escape_braces(sql: str) -> str:
    # GX fills `{batch}` with str.format: braces of the check's own SQL (regex `\d{9}`) must be doubled.
    return sql.replace("{", "{{").replace("}", "}}")


def unexpected_rows_query(check: CheckLike) -> str:
    # Only the row number is selected: a check's columns need not be columns of `typed`
    # (identity parts such as insured_county), and no row values end up in GX results.
    return f"SELECT _row_number FROM {{batch}} WHERE ({_escape_braces(check.invalid_sql)})"


def describe_check(check: CheckLike) -> str:
    """The check's reason in plain words without its per-row placeholders."""
    text = check.reason
    if text == "{shape_error}":
        return "row has the wrong number of fields or broken CSV quoting"
    return text.replace("'{value}'", "the value").replace("{value}", "the value")


def _typed_columns(feed: str) -> list[str]:
    return [*load_contract().feeds[feed].column_names, "_row_number"]


def expectation_specs(feed: str, checks: Iterable[CheckLike] = ()) -> list[ExpectationSpec]:
    """The feed's expectations, in suite order."""
    c = load_contract()
    spec = c.feeds[feed]
    out: list[ExpectationSpec] = [
        ExpectationSpec(
            f"{feed}.table.row_count",
            "expect_table_row_count_to_be_between",
            {"min_value": 1, "max_value": None},
            "the file has at least one data row",
        ),
        ExpectationSpec(
            f"{feed}.table.columns",
            "expect_table_columns_to_match_set",
            {"column_set": _typed_columns(feed), "exact_match": False},
            "every contract column is present",
        ),
    ]
    for col in spec.columns.values():
        if col.not_null:
            out.append(
                ExpectationSpec(
                    f"{feed}.{col.name}.not_null",
                    "expect_column_values_to_not_be_null",
                    {"column": col.name},
                    f"{col.name}: value is required (and readable)",
                )
            )
        if col.type == "enum" and col.enum:
            out.append(
                ExpectationSpec(
                    f"{feed}.{col.name}.in_set",
                    "expect_column_values_to_be_in_set",
                    {"column": col.name, "value_set": c.enum_codes(col.enum)},
                    f"{col.name}: an allowed code",
                )
            )
        if col.type in NUMERIC_TYPES and (col.min is not None or col.max is not None or col.min_exclusive is not None):
            lo = col.min_exclusive if col.min_exclusive is not None else col.min
            strict = col.min_exclusive is not None
            parts = []
            if lo is not None:
                parts.append(f"{'>' if strict else '≥'} {lo:g}")
            if col.max is not None:
                parts.append(f"≤ {col.max:g}")
            out.append(
                ExpectationSpec(
                    f"{feed}.{col.name}.between",
                    "expect_column_values_to_be_between",
                    {"column": col.name, "min_value": lo, "max_value": col.max, "strict_min": strict},
                    f"{col.name}: must be {' and '.join(parts)}",
                )
            )
        if col.unique:
            out.append(
                ExpectationSpec(
                    f"{feed}.{col.name}.unique",
                    "expect_column_values_to_be_unique",
                    {"column": col.name},
                    f"{col.name}: value is unique in the file",
                )
            )
    seen = {s.medcom_id for s in out}
    for check in checks:
        mid = f"check:{check.id}"
        if mid in seen:
            raise ValueError(f"duplicate check id {check.id!r} for feed {feed}")
        seen.add(mid)
        out.append(
            ExpectationSpec(
                mid,
                "unexpected_rows_expectation",
                {"unexpected_rows_query": unexpected_rows_query(check)},
                describe_check(check),
            )
        )
    return out


def _gx_class(type_: str):
    import great_expectations as gx

    name = "".join(part.capitalize() for part in type_.split("_"))
    if type_ == "unexpected_rows_expectation":
        name = "UnexpectedRowsExpectation"
    return getattr(gx.expectations, name)


def build_suite(feed: str, checks: Iterable[CheckLike] = (), name: str | None = None):
    """A GX `ExpectationSuite` (not registered with any context) for the feed."""
    import great_expectations as gx

    from expectations import gx_duckdb

    gx_duckdb.context()  # GX needs an active context to build suites
    suite = gx.ExpectationSuite(name=name or f"medcom.{feed}")
    for s in expectation_specs(feed, checks):
        cls = _gx_class(s.type)
        suite.add_expectation(cls(**s.kwargs, description=s.description, meta={"medcom_id": s.medcom_id}))
    return suite


def _strip_ids(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_ids(v) for k, v in obj.items() if k not in ("id", "rendered_content")}
    if isinstance(obj, list):
        return [_strip_ids(v) for v in obj]
    return obj


def suite_json(feed: str, checks: Iterable[CheckLike] = ()) -> dict:
    """The suite as GX serialises it, without the random ids (deterministic, for export)."""
    suite = build_suite(feed, checks)
    data = _strip_ids(suite.to_json_dict())
    meta = data.get("meta", {})
    meta.pop("great_expectations_version", None)
    data["meta"] = {
        **meta,
        "medcom_feed": feed,
        "table": "typed",
        "ingest_day_placeholder": EXPORT_INGEST_DAY.isoformat(),
    }
    return data


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


# Event-date checks compare with the day of ingest. The exported suites are documentation
# and must not change every day, so they are compiled with this placeholder day; at ingest
# time the checks (and the suite validate() builds from them) use the real day.
EXPORT_INGEST_DAY = dt.date(9999, 12, 31)


def feed_checks(feed: str, today: dt.date | None = EXPORT_INGEST_DAY) -> Sequence[CheckLike]:
    """The ingest checks of a feed (`ingest.checks.compile_checks`); none while that module does not exist."""
    try:
        from ingest.checks import compile_checks
    except ModuleNotFoundError as exc:
        if exc.name != "ingest.checks":
            raise
        return []
    return compile_checks(feed, today=today)
