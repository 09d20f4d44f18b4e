"""Incremental builds (warehouse/incremental.py): `medcom build` after new or replaced batches gives
the same marts as `medcom build --full` — after (a) one more month, (b) a correction of an old
month (whose YTD rows of later months must follow), with an incremental build killed half-way
before the good one, and (c) a registry change (targets: rebuilds what reads it; memberships:
forces a full build). Real dbt runs on a real DuckDB file of a small generated city; each stage is
a module fixture built on the previous one.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time

import duckdb
import pytest
from medcom_cli import MEDCOM, run_medcom

pytestmark = pytest.mark.slow

CITY = ["--start", "2021-01", "--months", "3", "--scale", "0.002", "--seed", "5"]
AS_OF = {"MEDCOM_AS_OF_DATE": "2021-04-15"}
LAST, OLD, COUNTY = "2021-03", "2021-01", "411002"
COMPARED = ("marts.kpi_values", "marts.fct_encounters", "intermediate.int_encounters_attributed", "marts.dim_org")


def _snapshot(home):
    return home / "published" / (home / "published" / "CURRENT").read_text().strip()


def _keep(home, dest):
    """A copy of the published snapshot (the next build replaces it)."""
    shutil.copyfile(_snapshot(home), dest)
    return dest


def _build(home, *args):
    p = run_medcom("build", *args, home=home, check=True, env=AS_OF)
    return p.stdout.strip().splitlines()[-1]


# kpi_values' DOUBLE sums (money in DOUBLE once a family unions decimal and double measures) add
# the same terms in another order when a month was appended rather than rebuilt with the others:
# values and statuses are compared as the status rule does (rounded to 9 decimals), numerators and
# denominators to 1e-12 relative; every other column and table exactly.
KPI_ROWS = """
SELECT kpi_code, org_level, org_id, period_type, period, round(value, 9) AS value, round(target, 9) AS target,
       round(band, 9) AS band, direction, status
FROM {db}.marts.kpi_values
"""


def _differences(a, b) -> dict[str, int]:
    """Rows in one and not the other (EXCEPT ALL both ways), per compared table; also the row count."""
    out = {}
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        for t in COMPARED:
            qa, qb = (KPI_ROWS.format(db=x) if t == "marts.kpi_values" else f"FROM {x}.{t}" for x in "ab")
            n = con.execute(f"SELECT count(*) FROM b.{t}").fetchone()[0]
            d = con.execute(
                f"SELECT (SELECT count(*) FROM ({qa} EXCEPT ALL {qb})) + (SELECT count(*) FROM ({qb} EXCEPT ALL {qa}))"
            ).fetchone()[0]
            out[t] = (n, d)
        # numerators and denominators: relative 1e-12
        far = con.execute(
            "SELECT count(*) FROM a.marts.kpi_values x JOIN b.marts.kpi_values y "
            "USING (kpi_code, org_level, org_id, period_type, period) "
            "WHERE abs(x.numerator - y.numerator) > 1e-12 * greatest(abs(x.numerator), 1) "
            "OR abs(x.denominator - y.denominator) > 1e-12 * greatest(abs(x.denominator), 1) "
            "OR (x.numerator IS NULL) <> (y.numerator IS NULL) OR (x.denominator IS NULL) <> (y.denominator IS NULL)"
        ).fetchone()[0]
        out["kpi_values numerators/denominators beyond 1e-12"] = (1, far)
    return out


def _assert_identical(incremental, full):
    diffs = _differences(incremental, full)
    assert all(n > 0 for n, _ in diffs.values()), diffs
    assert {t: d for t, (_, d) in diffs.items()} == dict.fromkeys(diffs, 0), diffs


def _state(home):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT built_at, mode FROM audit.build_state").fetchall()


def _kpis(db, where):
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            r[:5]: r[5:]
            for r in con.execute(
                "SELECT kpi_code, org_level, org_id, period_type, period, numerator, denominator, target, status "
                f"FROM marts.kpi_values WHERE {where}"
            ).fetchall()
        }


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The first two months ingested and built (a full build: no earlier state); March held back."""
    root = tmp_path_factory.mktemp("incremental")
    home, inbox, later = root / "home", root / "inbox", root / "later"
    run_medcom("generate", str(inbox), *CITY, home=home, check=True)
    for f in sorted(inbox.rglob(f"*{LAST}*")):
        dest = later / f.relative_to(inbox)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(f), dest)
    assert list((later / "encounters").iterdir())
    run_medcom("ingest", str(inbox), home=home, check=True)
    first = _build(home)
    return {"root": root, "home": home, "inbox": inbox, "later": later, "first": first}


@pytest.fixture(scope="module")
def appended(city):
    """(a) March ingested: an incremental build, then --full on the same warehouse."""
    home, root = city["home"], city["root"]
    run_medcom("ingest", str(city["later"]), home=home, check=True)
    inc = _build(home)
    rec = json.loads((home / "builds.jsonl").read_text().splitlines()[-1])
    snap = _keep(home, root / "a-incremental.duckdb")
    full = _build(home, "--full")
    return {"inc": inc, "rec": rec, "snap": snap, "full": full, "full_snap": _keep(home, root / "a-full.duckdb")}


def test_first_build_is_full(city):
    assert "(full build: no earlier build of this warehouse to build on)" in city["first"]


def test_append_builds_only_the_new_month_and_equals_a_full_build(appended):
    assert re.search(rf"\(incremental: {LAST} rebuilt\)", appended["inc"]), appended["inc"]
    assert "(full build: --full)" in appended["full"]
    rec = appended["rec"]
    assert rec["mode"] == "incremental" and rec["months_rebuilt"] == 1 and rec["outcome"] == "passed"
    n_inc = int(re.search(r"(\d+) nodes passed", appended["inc"]).group(1))
    n_full = int(re.search(r"(\d+) nodes passed", appended["full"]).group(1))
    assert n_inc < n_full * 0.7  # untouched feeds' models, their tests and the unit tests did not run
    _assert_identical(appended["snap"], appended["full_snap"])


def _correction(inbox, dest):
    """January of one county again, a quarter of its encounters dropped and every fifth one a
    down-referral: a replacement of that coverage key."""
    src = inbox / "encounters" / f"encounters_{OLD}_{COUNTY}.csv"
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    kept = [r for i, r in enumerate(rows) if i % 4]
    for i, r in enumerate(kept):
        if i % 5 == 0:
            r["referral"] = "down"
    out = dest / "encounters" / src.name
    out.parent.mkdir(parents=True)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(kept)
    return out


def _kill_during_build(home, after_model: str) -> list[str]:
    """Start `medcom build --verbose` and SIGKILL its process group once `after_model` was built."""
    env = dict(os.environ, MEDCOM_HOME=str(home), MEDCOM_SECRET="test-secret", **AS_OF)
    proc = subprocess.Popen(
        [MEDCOM, "build", "--verbose"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    deadline = time.monotonic() + 600
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if re.search(rf"\]\s+ok\s+model\s+{after_model} ", line):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "".join(seen)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    # the dbt child is killed with it but may take a moment to exit (and let go of the warehouse)
    for _ in range(600):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    return seen


@pytest.fixture(scope="module")
def corrected(city, appended):
    """(b) January of one county replaced; the first incremental build is killed half-way (after
    int_kpi_a_measures has rewritten January), the next one completes; then --full."""
    home, root = city["home"], city["root"]
    _correction(city["inbox"], root / "fix")
    run_medcom("ingest", str(root / "fix"), home=home, check=True)
    state, current = _state(home), (home / "published" / "CURRENT").read_text()
    killed = _kill_during_build(home, "int_kpi_a_measures")
    after_kill = {"state": _state(home) == state, "current": (home / "published" / "CURRENT").read_text() == current}
    inc = _build(home)
    snap = _keep(home, root / "b-incremental.duckdb")
    _build(home, "--full")
    return {
        "killed": killed,
        "after_kill": after_kill,
        "inc": inc,
        "snap": snap,
        "full_snap": _keep(home, root / "b-full.duckdb"),
    }


def test_killed_build_left_the_state_and_the_snapshot(corrected):
    assert any("incremental build" in line for line in corrected["killed"])
    assert corrected["after_kill"] == {"state": True, "current": True}


def test_correction_rebuilds_the_old_month_and_later_ytd_equals_a_full_build(appended, corrected):
    # the replaced batch's month rebuilt (again, after the killed build), not the others
    assert re.search(rf"\(incremental: {OLD} rebuilt\)", corrected["inc"]), corrected["inc"]
    _assert_identical(corrected["snap"], corrected["full_snap"])
    # the correction reached the YTD rows of March (Σ from January) for the county and the city
    # (411002 is no plan county in January: the city's facility-located share moves, not its rates)
    where = f"period_type = 'ytd' AND period = DATE '{LAST}-01' AND org_id IN ('{COUNTY}', '411000')"
    before, after = _kpis(appended["full_snap"], where), _kpis(corrected["snap"], where)
    assert before.keys() == after.keys() and len(before) > 10
    changed = {k[:3] for k in before if before[k] != after[k]}
    assert {
        ("in_county_visit_rate", "county", COUNTY),
        ("downward_referrals", "county", COUNTY),
        ("primary_care_visit_share", "city", "411000"),
    } <= changed


@pytest.fixture(scope="module")
def retargeted(city, corrected):
    """(c) A new targets snapshot (a city target for in_county_visit_rate), then --full."""
    home, root = city["home"], city["root"]
    src = city["inbox"] / "targets_overrides.csv"
    dest = root / "targets" / "targets" / src.name
    dest.parent.mkdir(parents=True)
    text = src.read_text(encoding="utf-8")
    dest.write_text(text + '"in_county_visit_rate","city","411000",,2020,,0.99,0.005,"test"\n', encoding="utf-8")
    run_medcom("ingest", str(dest.parent.parent), home=home, check=True)
    inc = _build(home)
    snap = _keep(home, root / "c-incremental.duckdb")
    _build(home, "--full")
    return {"inc": inc, "snap": snap, "full_snap": _keep(home, root / "c-full.duckdb")}


def test_targets_change_rebuilds_what_reads_them_and_equals_a_full_build(corrected, retargeted):
    assert "(incremental: no month rebuilt)" in retargeted["inc"], retargeted["inc"]
    _assert_identical(retargeted["snap"], retargeted["full_snap"])
    where = "kpi_code = 'in_county_visit_rate' AND org_level = 'city'"
    before, after = _kpis(corrected["snap"], where), _kpis(retargeted["snap"], where)
    assert {v[2] for v in after.values()} == {0.99} and {v[2] for v in before.values()} != {0.99}


def test_registry_feeds_an_incremental_model_reads_force_a_full_build(city, retargeted, monkeypatch):
    import warehouse
    from warehouse import incremental

    home = city["home"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        full_feeds = json.loads(con.execute("SELECT full_feeds FROM audit.build_state").fetchone()[0])
    # derived from dbt's manifest: the registry the attribution and the tests' dim_org read
    assert full_feeds == ["catchments", "communities", "facilities", "memberships", "regions"]
    src = city["inbox"] / "memberships" / "memberships.csv"
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    dest = city["root"] / "members" / "memberships" / src.name
    dest.parent.mkdir(parents=True)
    dest.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # one membership fewer
    run_medcom("ingest", str(dest.parent.parent), home=home, check=True)
    monkeypatch.setenv("MEDCOM_HOME", str(home))
    with warehouse.writer_lock():
        con = warehouse.open_writer()
        try:
            plan = incremental.plan(con, full=False, engine="duckdb", as_of_date=AS_OF["MEDCOM_AS_OF_DATE"])
        finally:
            con.close()
    assert plan.full and plan.reason == "new memberships data: every month's attribution may change"
    assert plan.dbt_args() == ["--full-refresh"]
