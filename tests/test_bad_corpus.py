"""The generator's bad-input corpus: every file gets exactly its expected verdict and reason,
and a rejected file leaves the warehouse's raw tables unchanged."""

from __future__ import annotations

import io
import json

import duckdb
import pytest

from ingest.run import ingest_paths


def _raw_counts(home):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        tables = [
            r[0]
            for r in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1"
            ).fetchall()
        ]
        return {
            t: c.execute(f"SELECT count(*), count(*) FILTER (WHERE _superseded_by IS NULL) FROM raw.{t}").fetchone()
            for t in tables
        }


def _quarantine_reasons(home, batch_id):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        return [
            r[0] for r in c.execute("SELECT reason FROM audit.quarantine WHERE batch_id = ?", [batch_id]).fetchall()
        ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from medcom.generate import generate

    root = tmp_path_factory.mktemp("corpus")
    generate(root / "corpus", start="2021-01", months=2, scale=0.01, seed=3, bad_corpus=True, quiet=True)
    manifest = json.loads((root / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    return root, manifest


def test_bad_corpus_verdicts(corpus, tmp_path, monkeypatch):
    from medcom.generate import generate

    root, manifest = corpus
    home = tmp_path / "home"
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    monkeypatch.setenv("MEDCOM_SECRET", "corpus-secret")
    base = manifest["base"]
    generate(
        tmp_path / "base",
        start=base["start"],
        months=base["months"],
        scale=base["scale"],
        seed=base["seed"],
        quiet=True,
    )
    res = ingest_paths([tmp_path / "base"], out=io.StringIO())
    assert res.ok, [(o.display_name, o.reasons) for o in res.outcomes if o.verdict == "rejected"]

    problems = []
    for entry in manifest["files"]:
        path = root / "corpus" / entry["file"]
        before = _raw_counts(home)
        out = io.StringIO()
        res = ingest_paths([path], out=out)
        assert len(res.outcomes) == 1, entry["file"]
        o = res.outcomes[0]
        want = entry["expected_verdict"]
        label = f"{entry['file']} ({entry['case']})"
        if o.verdict != want:
            problems.append(f"{label}: verdict {o.verdict} ({o.reasons}), expected {want}")
            continue
        if o.feed != entry["feed"]:
            problems.append(f"{label}: feed {o.feed}, expected {entry['feed']}")
        phrase = entry.get("reason_contains")
        if want == "rejected":
            if phrase and phrase not in (o.reasons or ""):
                problems.append(f"{label}: reason {o.reasons!r} lacks {phrase!r}")
            row_phrase = entry.get("row_reason_contains")
            if row_phrase and row_phrase not in (o.reasons or ""):
                problems.append(f"{label}: reason {o.reasons!r} lacks row reason {row_phrase!r}")
            if _raw_counts(home) != before:
                problems.append(f"{label}: a rejected file changed the raw tables")
            if res.ok:
                problems.append(f"{label}: run reported ok for a rejected file")
        else:
            if entry.get("quarantined_rows") is not None and o.rows_quarantined != entry["quarantined_rows"]:
                problems.append(f"{label}: {o.rows_quarantined} quarantined, expected {entry['quarantined_rows']}")
            if entry.get("rows") is not None and o.rows_read != entry["rows"]:
                problems.append(f"{label}: {o.rows_read} rows read, expected {entry['rows']}")
            if phrase:
                reasons = _quarantine_reasons(home, o.batch_id)
                if not any(phrase in r for r in reasons):
                    problems.append(f"{label}: quarantine reasons {reasons[:3]} lack {phrase!r}")
    assert not problems, "\n".join(problems)
