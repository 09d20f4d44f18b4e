"""The bad-input corpus: each file really has the defect its manifest entry claims.

The structural tests are fast and independent of ingest. `test_corpus_verdicts_match_ingest`
(marked slow) ingests a base city and then the corpus and compares every verdict, reason
and quarantine count with the manifest.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from medcom.contract import load_contract
from medcom.generate import generate

BASE = {"start": "2020-01", "months": 3, "scale": 0.01, "seed": 42}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corpus")
    generate(out, **BASE, bad_corpus=True, quiet=True)
    return out, json.loads((out / "manifest.json").read_text("utf-8"))


def _entry(manifest: dict, case: str) -> dict:
    return next(e for e in manifest["files"] if e["case"] == case)


def test_deterministic(corpus, tmp_path):
    out, _ = corpus
    generate(tmp_path, **BASE, bad_corpus=True, quiet=True)
    for p in out.rglob("*"):
        if p.is_file():
            assert (tmp_path / p.relative_to(out)).read_bytes() == p.read_bytes(), p


def test_encoding_cases(corpus):
    out, m = corpus
    raw = (out / _entry(m, "gbk_named_utf8")["file"]).read_bytes()
    assert "utf8" in _entry(m, "gbk_named_utf8")["file"]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "就诊流水号" in raw.decode("gb18030")


def test_structural_defects(corpus):
    out, m = corpus
    f = lambda case: out / _entry(m, case)["file"]  # noqa: E731
    assert f("empty_file").stat().st_size == 0
    assert not f("truncated_csv").read_bytes().endswith(b"\n")
    assert f("truncated_csv").read_bytes().count(b'"') % 2 == 1  # cut inside a quoted field
    assert b"\x00" in f("binary_renamed_csv").read_bytes()
    with zipfile.ZipFile(f("corrupt_xlsx")) as z:
        assert "xl/workbook.xml" not in z.namelist()
    assert len(f("no_data_rows").read_text("utf-8").strip().splitlines()) == 1
    c = load_contract()
    head = f("duplicate_headers_same_column").read_text("utf-8").splitlines()[0].replace('"', "").split(",")
    mapped = [c.match_header(h, "encounters") for h in head]
    assert mapped.count("encounter_id") == 2
    head = f("renamed_column_not_alias").read_text("utf-8").splitlines()[0].replace('"', "").split(",")
    assert "total_cost" not in [c.match_header(h, "encounters") for h in head]
    head = f("missing_required_column").read_text("utf-8").splitlines()[0].replace('"', "").split(",")
    assert "fund_paid" not in head
    assert c.feed_for_filename(Path(_entry(m, "feed_unknown")["file"]).name) is None
    text = f("csv_injection_text").read_text("utf-8")
    assert '=HYPERLINK(""http://x"",""click"")' in text


def test_many_invalid_is_over_threshold(corpus):
    out, m = corpus
    import pandas as pd

    df = pd.read_csv(out / _entry(m, "too_many_invalid_rows")["file"], dtype=str)
    bad = (df.fund_paid.astype(float) > df.total_cost.astype(float)).sum()
    assert bad >= 5 and bad > 0.01 * len(df)


@pytest.mark.slow
def test_corpus_verdicts_match_ingest(tmp_path, monkeypatch):
    import io

    monkeypatch.setenv("MEDCOM_HOME", str(tmp_path / "home"))
    base, bad = tmp_path / "base", tmp_path / "bad"
    generate(base, **BASE, bad_corpus=False, quiet=True)
    manifest = generate(bad, **BASE, bad_corpus=True, quiet=True)
    from ingest.run import ingest_paths

    first = ingest_paths([base], out=io.StringIO())
    assert all(o.verdict == "accepted" for o in first.outcomes), [
        (o.display_name, o.reasons) for o in first.outcomes if o.verdict != "accepted"
    ]
    result = ingest_paths([bad], out=io.StringIO())
    got = {o.path.resolve().relative_to(bad.resolve()).as_posix(): o for o in result.outcomes}
    problems = []
    for e in manifest["files"]:
        o = got[e["file"]]
        text = " ".join([o.reasons or "", *o.first_reasons])
        if o.verdict != e["expected_verdict"]:
            problems.append((e["case"], e["expected_verdict"], o.verdict, o.reasons))
        elif e["reason_contains"] and e["reason_contains"] not in text:
            problems.append((e["case"], e["reason_contains"], o.reasons))
        elif e["quarantined_rows"] is not None and e["quarantined_rows"] != o.rows_quarantined:
            problems.append((e["case"], e["quarantined_rows"], o.rows_quarantined))
        elif e.get("row_reason_contains") and e["row_reason_contains"] not in text:
            problems.append((e["case"], e["row_reason_contains"], o.reasons))
    assert not problems
    assert os.environ["MEDCOM_HOME"].startswith(str(tmp_path))
