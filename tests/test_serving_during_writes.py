"""Readers keep serving while `medcom build` and `medcom ingest` write, and see new data after.

A copy of the shared test city is rebuilt and re-ingested in a child process while this
process keeps querying the published snapshot through the SQL sandbox and the dashboard's
query module — as the dashboard does during the monthly ingest.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from medcom_cli import MEDCOM

import warehouse
from dashboards.queries import Queries
from warehouse.sandbox import run_query

pytestmark = pytest.mark.slow


@pytest.fixture
def city_copy(built_city, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(built_city / "warehouse.duckdb", home / "warehouse.duckdb")
    shutil.copytree(built_city / "published", home / "published")
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    monkeypatch.setenv("MEDCOM_SECRET", "test-secret")
    return home


def _hammer(proc: subprocess.Popen, expected_kpi_rows: int) -> int:
    """Query until the writer exits; every query must succeed. Returns how many ran."""
    n = 0
    while proc.poll() is None or n == 0:
        assert run_query("select count(*) from marts.kpi_values").rows == [(expected_kpi_rows,)]
        with Queries() as q:
            assert q.latest_month() is not None
            assert not q.kpis().empty
        n += 1
        time.sleep(0.05)
    return n


def test_readers_serve_during_build_and_ingest(city_copy, built_city):
    home = city_copy
    before = warehouse.current_snapshot()
    rows = run_query("select count(*) from marts.kpi_values").rows[0][0]

    build = subprocess.Popen([MEDCOM, "build"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = _hammer(build, rows)
    out = build.stdout.read()
    assert build.wait() == 0, out
    assert served > 5, f"only {served} queries ran during the build"
    after_build = warehouse.current_snapshot()
    assert after_build != before and after_build.exists()

    # a correction of one inbox file, ingested while readers keep going
    inbox = built_city.parent / "inbox"
    enc = sorted((inbox / "encounters").glob("*.csv"))[0]
    ingest = subprocess.Popen([MEDCOM, "ingest", str(enc)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _hammer(ingest, rows)
    out = ingest.stdout.read()
    assert ingest.wait() == 0, out
    assert "duplicate" in out  # the same bytes again: a no-op
    batches = run_query("select count(*) from audit.ingest_batches where verdict = 'duplicate'").rows[0][0]
    assert batches >= 1  # the new snapshot (published by ingest) is what readers see now
    assert warehouse.current_snapshot() != after_build
    assert (home / "published" / "CURRENT").read_text().strip().endswith("warehouse.duckdb")
