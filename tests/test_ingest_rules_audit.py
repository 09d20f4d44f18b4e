"""Rules of feeds.md found wrong in the ingest audit (one test per fixed discrepancy)."""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from ingest_helpers import RESIDENT_IDS, encounters
from test_ingest_pipeline import city  # noqa: F401  (fixture)

from ingest.run import ingest_paths


def _ingest(*paths):
    out = io.StringIO()
    res = ingest_paths(list(paths), out=out)
    return res, out.getvalue()


def test_parquet_values_are_trimmed_of_all_whitespace_before_pseudonymising(city, tmp_path):  # noqa: F811
    """feeds.md: "Whitespace is trimmed" and the resident-ID test applies "after trimming":
    a tab / ideographic space around a value in a Parquet file must not keep a raw ID."""
    rows = encounters(10)
    pads = ["\t", "\u3000", "\u00a0", "\n"]
    for i, r in enumerate(rows):
        r["patient_id"] = pads[i % 4] + RESIDENT_IDS[i % 3] + pads[(i + 1) % 4]
        r["insured_township_code"] = "\u3000" + r["insured_township_code"] + "\t"
    p = tmp_path / "inbox" / "encounters" / "e.parquet"
    p.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), p)
    res, out = _ingest(p.parent.parent)
    assert res.ok, out
    assert [o.verdict for o in res.outcomes] == ["accepted"], out
    with duckdb.connect(str(city / "warehouse.duckdb"), read_only=True) as c:
        pids = [r[0] for r in c.execute("SELECT patient_id FROM raw.encounters").fetchall()]
        twps = {r[0] for r in c.execute("SELECT insured_township_code FROM raw.encounters").fetchall()}
    assert len(pids) == 10
    assert not any(any(rid in v for rid in RESIDENT_IDS) for v in pids)
    assert all(len(v) == 64 for v in pids)
    assert twps == {"411025001"}
