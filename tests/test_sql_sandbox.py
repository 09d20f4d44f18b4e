"""The analysts' SQL sandbox refuses everything but reading the published warehouse."""

from __future__ import annotations

import json

import pytest
from medcom_cli import run_medcom

import warehouse
from warehouse.sandbox import QueryRejected, run_query


@pytest.fixture
def small_warehouse(medcom_home):
    with warehouse.writer() as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.t AS SELECT range AS i, 'x' || range AS s FROM range(25000)")
    warehouse.publish()
    return medcom_home


FORBIDDEN = [
    ("select * from read_csv('/etc/passwd')", "files on the server"),
    ("select * from read_text('/etc/hostname')", "files on the server"),
    ("select * from read_parquet('/tmp/*.parquet')", "files on the server"),
    ("select * from glob('/etc/*')", "files on the server"),
    ("copy marts.t to '/tmp/medcom-leak.csv'", "COPY"),
    ("export database '/tmp/medcom-export'", "EXPORT"),
    ("attach '/tmp/other.duckdb' as o", "ATTACH"),
    ("install httpfs", "not allowed"),
    ("load httpfs", "not allowed"),
    ("create table marts.x(i int)", "CREATE"),
    ("insert into marts.t values (1, 'y')", "INSERT"),
    ("update marts.t set i = 0", "UPDATE"),
    ("delete from marts.t", "DELETE"),
    ("drop table marts.t", "DROP"),
    ("alter table marts.t add column z int", "ALTER"),
    ("set enable_external_access = true", "SET"),
    ("reset enable_external_access", "not allowed"),
    ("pragma enable_profiling", "PRAGMA"),
    ("call pragma_table_info('marts.t')", "CALL"),
    ("select 1; drop table marts.t", "one statement"),
    ("checkpoint", "not allowed"),
]


@pytest.mark.parametrize(("sql", "phrase"), FORBIDDEN)
def test_forbidden_statements_are_refused(small_warehouse, sql, phrase):
    with pytest.raises(QueryRejected) as exc:
        run_query(sql)
    assert phrase.lower() in str(exc.value).lower()
    # and the warehouse is untouched
    assert run_query("select count(*) from marts.t").rows == [(25000,)]


def test_select_and_row_limit(small_warehouse):
    r = run_query("select * from marts.t order by i")
    assert r.columns == ["i", "s"]
    assert len(r.rows) == 10_000 and r.truncated
    r = run_query("select * from marts.t order by i", max_rows=30_000)
    assert len(r.rows) == 25_000 and not r.truncated


def test_runaway_query_is_stopped(small_warehouse):
    with pytest.raises(QueryRejected, match="time limit"):
        run_query("with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r", timeout=1)


def test_reader_never_opens_the_writer_file(small_warehouse):
    # a reader works while a writer holds the warehouse open in this process
    with warehouse.writer() as con:
        con.execute("create table marts.later as select 1 as one")
        assert run_query("select count(*) from marts.t").rows == [(25000,)]
    assert "later" not in {r[0] for r in run_query("select table_name from information_schema.tables").rows}
    warehouse.publish()
    assert run_query("select * from marts.later").rows == [(1,)]


def test_second_writer_gets_a_plain_message(small_warehouse):
    from medcom.errors import WarehouseBusy

    with warehouse.writer_lock(), pytest.raises(WarehouseBusy, match="another"), warehouse.writer_lock():
        pass


def test_cli_formats_and_exit_codes(small_warehouse):
    home = small_warehouse
    p = run_medcom("sql", "--format", "csv", "select i, s from marts.t order by i limit 3", home=home)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["i,s", "0,x0", "1,x1", "2,x2"]
    p = run_medcom("sql", "--format", "json", "--max-rows", "2", "select i from marts.t order by i", home=home)
    assert json.loads(p.stdout) == [{"i": 0}, {"i": 1}]
    assert "row limit" in p.stderr
    p = run_medcom("sql", "drop table marts.t", home=home)
    assert p.returncode == 1 and "not allowed" in p.stderr and "Traceback" not in p.stderr
    p = run_medcom("sql", "--format", "xml", "select 1", home=home)
    assert p.returncode == 2


def test_no_snapshot_yet_is_a_plain_error(medcom_home):
    p = run_medcom("sql", "select 1", home=medcom_home)
    assert p.returncode == 1
    assert "no published warehouse yet" in p.stderr and "Traceback" not in p.stderr


def test_interactive_prompt(small_warehouse):
    import os
    import subprocess

    from medcom_cli import MEDCOM

    env = dict(os.environ, MEDCOM_HOME=str(small_warehouse))
    p = subprocess.run(
        [MEDCOM, "sql", "--format", "csv"],
        input="select count(*) as n\n  from marts.t;\ndrop table marts.t;\nselect 2 as two;\n.quit\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["n", "25000", "two", "2"]
    assert "not allowed" in p.stderr
