"""One dbt project, two engines: a small generated city built on DuckDB and on Spark local mode
(over the lake), with identical marts.kpi_values (values to 9 decimals, statuses, targets),
every dbt data and unit test passing on both, and the same published tables and columns.

One Spark session for the whole check (one `medcom build --engine spark`). Needs the spark
extra and Java 17+ (`make test` installs both).
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from medcom_cli import BIN, run_medcom

pytestmark = pytest.mark.slow

SMALL_CITY = ["--start", "2020-11", "--months", "4", "--scale", "0.004", "--seed", "11"]

KPI_ROWS = """
select kpi_code, org_level, org_id, period_type, period,
       round(value, 9) as value, round(target, 9) as target, round(band, 9) as band, direction, status,
       numerator, denominator
from marts.kpi_values
order by kpi_code, org_level, org_id, period_type, period
"""


def _snapshot(home):
    """The published snapshot file readers use (published/CURRENT names it)."""
    return home / "published" / (home / "published" / "CURRENT").read_text().strip()


def _results(home) -> dict[str, str]:
    """unique_id → status of the last dbt invocation's tests and unit tests."""
    rr = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in rr["results"] if r["unique_id"].startswith(("test.", "unit_test."))}


def _columns(snapshot) -> dict[str, list[tuple[str, str]]]:
    """table → [(column, type)] of the schemas readers see."""
    with duckdb.connect(str(snapshot), read_only=True) as c:
        rows = c.execute(
            "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
            "where table_schema in ('staging', 'intermediate', 'marts') order by 1, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for t, col, typ in rows:
        out.setdefault(t, []).append((col, typ))
    return out


def _kpi_rows(snapshot):
    with duckdb.connect(str(snapshot), read_only=True) as c:
        return c.execute(KPI_ROWS).fetchall()


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    home = root / "home"
    run_medcom("generate", str(root / "inbox"), *SMALL_CITY, home=home, check=True)
    run_medcom("ingest", str(root / "inbox"), home=home, check=True)
    env = {"MEDCOM_AS_OF_DATE": "2021-03-31"}
    duck = run_medcom("build", home=home, check=True, env=env)
    duck_snap = root / "duckdb.duckdb"
    shutil.copyfile(_snapshot(home), duck_snap)
    duck_results = _results(home)
    spark = run_medcom("build", "--engine", "spark", home=home, check=True, env=env, timeout=3600)
    return {
        "home": home,
        "duck": (duck, duck_snap, duck_results),
        "spark": (spark, _snapshot(home), _results(home)),
    }


def test_kpi_values_identical_on_both_engines(engines):
    _, duck_snap, _ = engines["duck"]
    _, spark_snap, _ = engines["spark"]
    a, b = _kpi_rows(duck_snap), _kpi_rows(spark_snap)
    assert len(a) > 1000 and len(a) == len(b)
    assert {r[0] for r in a} == {r[0] for r in b} and len({r[0] for r in a}) >= 30
    for ra, rb in zip(a, b, strict=True):
        assert ra[:10] == rb[:10], (ra, rb)
        # numerators / denominators: equal up to floating-point summation order
        for x, y in zip(ra[10:], rb[10:], strict=True):
            assert (x is None and y is None) or x == pytest.approx(y, rel=1e-12, abs=1e-9), (ra, rb)
    statuses = {r[9] for r in a}
    assert {"green", "red", "no_data"} <= statuses  # the comparison covers real statuses


def test_dbt_data_and_unit_tests_pass_on_both_engines(engines):
    _, _, duck = engines["duck"]
    out, _, spark = engines["spark"]
    assert set(spark) == set(duck)  # the same tests ran …
    assert sum(k.startswith("unit_test.") for k in spark) >= 20
    assert sum(k.startswith("test.") for k in spark) >= 200
    assert set(duck.values()) == {"pass"} and set(spark.values()) == {"pass"}  # … and passed
    assert "spark: starting Spark local mode (local[2])" in out.stderr
    assert "build ok:" in out.stdout


def test_readers_get_the_same_tables_and_columns(engines):
    _, duck_snap, _ = engines["duck"]
    _, spark_snap, _ = engines["spark"]
    duck, spark = _columns(duck_snap), _columns(spark_snap)
    assert len(duck) > 60
    names = {t: [c for c, _ in cols] for t, cols in duck.items()}
    assert {t: [c for c, _ in cols] for t, cols in spark.items()} == names
    # the marts (what the dashboard, medcom sql and analysts read) have the same types too;
    # intermediate sums may differ in width (DuckDB HUGEINT / DECIMAL(38,2), Spark BIGINT / DECIMAL(28,2))
    marts = {t: cols for t, cols in duck.items() if t.startswith("marts.")}
    assert {t: cols for t, cols in spark.items() if t.startswith("marts.")} == marts


def test_spark_build_read_the_lake_and_medcom_sql_reads_its_result(engines):
    home = engines["home"]
    lake = home / "lake"
    assert list((lake / "raw" / "encounters").glob("part_county=*/part_month=*/part-*.parquet"))
    builds = [p for p in (lake / "build").iterdir() if p.is_dir()]
    assert builds and list((builds[-1] / "marts" / "kpi_values").glob("*.parquet"))
    q = "select count(*) as n from marts.kpi_values where status = 'green'"
    p = run_medcom("sql", q, "--format", "csv", home=home, check=True)
    _, spark_snap, _ = engines["spark"]
    with duckdb.connect(str(spark_snap), read_only=True) as c:
        n = c.execute("select count(*) from marts.kpi_values where status = 'green'").fetchone()[0]
    assert n > 0 and p.stdout.split() == ["n", str(n)]


# ---------------------------------------------------------------- without the Spark stack


def _shadow_pyspark(tmp_path):
    """A folder that makes `import pyspark` fail as on a machine without the spark extra."""
    shadow = tmp_path / "no-pyspark" / "pyspark"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    return str(shadow.parent)


def _one_line_error(p) -> str:
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


def test_spark_engine_without_java_says_what_to_install(tmp_path):
    p = run_medcom("build", "--engine", "spark", home=tmp_path / "home", env={"JAVA_HOME": str(tmp_path / "no-java")})
    line = _one_line_error(p)
    assert "Java 17" in line and "openjdk-17-jre-headless" in line
    assert not (tmp_path / "home" / "published" / "CURRENT").exists()


def test_spark_engine_without_pyspark_says_what_to_install(tmp_path):
    p = run_medcom(
        "build", home=tmp_path / "home", env={"PYTHONPATH": _shadow_pyspark(tmp_path), "MEDCOM_ENGINE": "spark"}
    )
    assert 'pip install "medcom[spark]"' in _one_line_error(p)


def test_unknown_engine_is_a_one_line_error(tmp_path):
    p = run_medcom("build", "--engine", "oracle", home=tmp_path / "home")
    assert p.returncode == 2 and "oracle" in p.stderr and "Traceback" not in p.stderr
    p = run_medcom("build", home=tmp_path / "home", env={"MEDCOM_ENGINE": "oracle"})
    assert "unknown engine 'oracle'" in _one_line_error(p)


def test_duckdb_build_needs_neither_java_nor_pyspark(tmp_path):
    # no java on PATH (only the venv's bin), no JAVA_HOME, no importable pyspark
    env = {"PYTHONPATH": _shadow_pyspark(tmp_path), "JAVA_HOME": str(tmp_path / "no-java"), "PATH": str(BIN)}
    p = run_medcom("build", "--allow-empty", home=tmp_path / "home", env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "build ok:" in p.stdout
