"""Derivations of the feed contract that are checked into the repository.

`python -m medcom.contract.export` rewrites `dbt_project/models/staging/_sources.yml`
from `feeds.yaml`; `tests/test_contract.py` fails when the checked-in file is stale.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from medcom.contract import load_contract

META_COLUMNS = [
    ("_batch_id", "VARCHAR", "Ingest batch that loaded the row (audit.ingest_batches.batch_id)."),
    ("_run_id", "VARCHAR", "Ingest run that loaded the row."),
    ("_row_number", "BIGINT", "Data row number in the source file (1 = first data row)."),
    ("_coverage_key", "VARCHAR", "Coverage key the row was loaded under."),
    ("_superseded_by", "VARCHAR", "Batch that replaced this row; NULL for current rows."),
]


def raw_table_ddl(feed_name: str, schema: str = "raw") -> str:
    """CREATE TABLE statement of a feed's raw table (docs/architecture.md, raw layer)."""
    feed = load_contract().feeds[feed_name]
    cols = [f'"{c.name}" {c.duckdb_type}' for c in feed.columns.values()]
    cols += [f"{name} {typ}" for name, typ, _ in META_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {schema}.{feed_name} (\n  " + ",\n  ".join(cols) + "\n)"


def create_raw_tables(con, schema: str = "raw") -> None:
    """Create the raw schema and every feed's table (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name in load_contract().feeds:
        con.execute(raw_table_ddl(name, schema))


def sources_yaml() -> str:
    contract = load_contract()
    tables = []
    for feed in contract.feeds.values():
        cols = []
        for c in feed.columns.values():
            desc = f"{' / '.join(c.aliases)} ({c.type}"
            if c.enum:
                desc += ": " + ", ".join(contract.enum_codes(c.enum))
            desc += ")"
            cols.append({"name": c.name, "description": desc, "data_type": c.duckdb_type.lower()})
        cols += [{"name": n, "description": d, "data_type": t.lower()} for n, t, d in META_COLUMNS]
        kind = (
            "reference snapshot"
            if feed.is_reference
            else ("additive activity feed" if feed.additive else "activity feed")
        )
        tables.append(
            {
                "name": feed.name,
                "description": f"{feed.title_zh} — {kind}, loaded by `medcom ingest`. Current rows: _superseded_by is null.",
                "columns": cols,
            }
        )
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "schema": "raw",
                "description": "Feeds as loaded by medcom ingest (generated from medcom/contract/feeds.yaml — do not edit).",
                "tables": tables,
            }
        ],
    }
    header = "# GENERATED from medcom/contract/feeds.yaml by `python -m medcom.contract.export` — do not edit.\n"
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)


def sources_path() -> Path:
    from dbt_project import PROJECT_DIR

    return PROJECT_DIR / "models" / "staging" / "_sources.yml"


def main() -> None:
    p = sources_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(sources_yaml(), encoding="utf-8")
    print(f"wrote {p}")


if __name__ == "__main__":
    main()
