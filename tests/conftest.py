"""Shared fixtures: an isolated MEDCOM_HOME per test, and one generated+ingested+built city."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from medcom_cli import MEDCOM, REPO, run_medcom  # noqa: F401 - re-exported for older imports


@pytest.fixture
def medcom_home(tmp_path, monkeypatch) -> Path:
    """A fresh MEDCOM_HOME for one test (and a fixed secret, so hashes are reproducible)."""
    home = tmp_path / "home"
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    monkeypatch.setenv("MEDCOM_SECRET", "test-secret")
    return home


# One small city, generated, ingested and built once per test session, shared read-only by
# the KPI, dashboard and SQL tests. Tests must not write to it.
CITY_ARGS = {"start": "2020-01", "months": 15, "scale": 0.01, "seed": 7}


@pytest.fixture(scope="session")
def built_city(tmp_path_factory) -> Path:
    """MEDCOM_HOME of a generated (15 months, scale 0.01), ingested and built city."""
    root = tmp_path_factory.mktemp("city")
    home = root / "home"
    inbox = root / "inbox"
    a = CITY_ARGS
    run_medcom(
        "generate",
        str(inbox),
        "--start",
        a["start"],
        "--months",
        str(a["months"]),
        "--scale",
        str(a["scale"]),
        "--seed",
        str(a["seed"]),
        home=home,
        check=True,
    )
    run_medcom("ingest", str(inbox), home=home, check=True)
    run_medcom("build", home=home, check=True)
    (root / "inbox-path").write_text(str(inbox))
    yield home
    if os.environ.get("MEDCOM_KEEP_TEST_CITY") is None:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dq_city(tmp_path_factory) -> Path:
    """MEDCOM_HOME of the tiny city with an outlier batch (tests/dq_city.py), ingested and built."""
    from dq_city import build_dq_city

    return build_dq_city(tmp_path_factory.mktemp("dq-city"))


@pytest.fixture
def city_env(built_city, monkeypatch) -> Path:
    """Point this process's MEDCOM_HOME at the shared built city (read-only use)."""
    monkeypatch.setenv("MEDCOM_HOME", str(built_city))
    monkeypatch.setenv("MEDCOM_SECRET", "test-secret")
    return built_city


@pytest.fixture(scope="module")
def city_con(built_city):
    """Read-only connection to the built city's published snapshot (one per test module)."""
    import warehouse

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDCOM_HOME", str(built_city))
        con = warehouse.connect_reader()
        yield con
        con.close()


# A small generated province (2 cities), ingested and built once per session; read-only.
PROVINCE_ARGS = {"start": "2020-01", "months": 7, "scale": 0.01, "seed": 11, "cities": 2}


@pytest.fixture(scope="session")
def built_province(tmp_path_factory) -> Path:
    """MEDCOM_HOME of a generated 河南省 of 2 cities (许昌市, 漯河市), ingested and built.
    The inbox is at `<home>/../inbox`. `MEDCOM_TEST_PROVINCE_HOME`: reuse a home built so before
    (kept with MEDCOM_KEEP_TEST_CITY=1), for quick iterations."""
    if os.environ.get("MEDCOM_TEST_PROVINCE_HOME"):
        yield Path(os.environ["MEDCOM_TEST_PROVINCE_HOME"])
        return
    root = tmp_path_factory.mktemp("province")
    home, inbox = root / "home", root / "inbox"
    args = [f"--{k}={v}" for k, v in PROVINCE_ARGS.items()]
    run_medcom("generate", str(inbox), *args, home=home, check=True)
    run_medcom("ingest", str(inbox), home=home, check=True)
    run_medcom("build", home=home, check=True)
    yield home
    if os.environ.get("MEDCOM_KEEP_TEST_CITY") is None:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache():
    """Every test starts with empty dashboard caches (a test may change what a page shows without a new
    snapshot, e.g. by monkeypatching a page setting)."""
    import sys

    cache = sys.modules.get("dashboards.queries.cache")
    if cache is not None:
        cache.clear()
    yield
