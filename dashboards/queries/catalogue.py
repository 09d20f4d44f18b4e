"""The catalogue: KPI definitions, the SQL page's data dictionary (with dbt's descriptions), last loads."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd


class CatalogueQueries:
    def kpis(self) -> pd.DataFrame:
        cols = set(self.columns("marts", "dim_kpi"))
        order = "display_order, " if "display_order" in cols else ""
        return self.df(
            "SELECT kpi_code, name_zh, name_en, family, unit, direction, formula_zh, formula_en, source_feeds, "
            f"policy_ref FROM marts.dim_kpi ORDER BY family, {order}kpi_code"
        )

    def kpi(self, code: str) -> dict | None:
        df = self.kpis()
        hit = df[df.kpi_code == code]
        return None if hit.empty else hit.iloc[0].to_dict()

    def last_load(self, feeds: list[str] | None = None) -> datetime | None:
        if not self.has("audit", "ingest_batches"):
            return None
        sql = "SELECT max(received_at) FROM audit.ingest_batches WHERE verdict IN ('accepted', 'accepted_with_quarantine')"
        params: list = []
        if feeds:
            sql += " AND feed IN (SELECT unnest(?::VARCHAR[]))"
            params.append(list(feeds))
        r = self.con.execute(sql, params).fetchone()
        return r[0] if r else None

    def dictionary(self) -> pd.DataFrame:
        """Every column of the snapshot (marts and audit first) with dbt's descriptions when present."""
        df = self.df(
            'SELECT table_schema AS schema, table_name AS "table", column_name AS "column", data_type AS type '
            "FROM information_schema.columns WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
            "AND table_catalog = current_database() ORDER BY CASE table_schema WHEN 'marts' THEN 0 "
            "WHEN 'audit' THEN 1 ELSE 2 END, table_schema, table_name, ordinal_position"
        )
        desc = dbt_descriptions()
        keys = list(zip(df.schema, df["table"], df["column"], strict=False))
        df["description"] = [desc.get(k, "") for k in keys]
        df["table_description"] = [desc.get((s_, t_, None), "") for s_, t_, _ in keys]
        return df


def manifest_path() -> Path:
    from medcom.settings import paths

    return Path(paths().dbt_target) / "manifest.json"


def manifest_stamp() -> tuple:
    """(size, mtime) of dbt's manifest (the dictionary's descriptions): part of the SQL page's cache key."""
    try:
        st = manifest_path().stat()
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns)


def dbt_descriptions() -> dict[tuple, str]:
    """(schema, table, column|None) -> description from MEDCOM_HOME/dbt/target/manifest.json, if present."""
    f = manifest_path()
    out: dict[tuple, str] = {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    for node in list(data.get("nodes", {}).values()) + list(data.get("sources", {}).values()):
        if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
            continue
        schema, name = node.get("schema"), node.get("alias") or node.get("identifier") or node.get("name")
        if node.get("description"):
            out[(schema, name, None)] = node["description"]
        for col, meta in (node.get("columns") or {}).items():
            if meta.get("description"):
                out[(schema, name, col)] = meta["description"]
    return out
