"""The command line as a new user meets it (issue 13), run as a subprocess on a real MEDCOM_HOME:
empty-warehouse refusal, option checks (exit 2, one plain line), progress on a terminal and
off it, the log file, `medcom status` (text, json, zh/en), --version and next-step hints."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from medcom_cli import MEDCOM, run_medcom

import medcom

FAST = {"MEDCOM_PROGRESS_INTERVAL": "0.5"}


def _one_plain_error(p, fragment: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert fragment in lines[0], p.stderr
    assert lines[0].startswith("medcom"), p.stderr
    assert len(lines) <= 2 and "Traceback" not in p.stderr and "unexpected error" not in p.stderr, p.stderr
    assert "╭" not in p.stderr  # no rich box around a one-line message


# ---------------------------------------------------------------------------- option checks
@pytest.fixture(scope="module")
def a_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("files") / "plain.txt"
    f.write_text("x")
    return f


BAD_OPTIONS = [
    (["serve", "--port", "99999"], "must be a port number from 1 to 65535, not 99999"),
    (["serve", "--port", "0"], "must be a port number from 1 to 65535"),
    (["serve", "--port", "eighty"], "'--port'"),
    (["serve", "--host", "no-such-host.invalid"], "is not an address of this machine"),
    (["sql", "--format", "xml", "select 1"], "must be one of table, csv, json"),
    (["sql", "--max-rows", "0", "select 1"], "'--max-rows'"),
    (["sql", "--timeout", "-1", "select 1"], "'--timeout'"),
    (["generate", "{tmp}/inbox", "--start", "2020-13"], "must be a month written YYYY-MM"),
    (["generate", "{tmp}/inbox", "--start", "March"], "must be a month written YYYY-MM"),
    (["generate", "{tmp}/inbox", "--months", "0"], "'--months'"),
    (["generate", "{tmp}/inbox", "--scale", "0"], "'--scale'"),
    (["generate", "{tmp}/inbox", "--scale", "big"], "'--scale'"),
    (["generate", "{tmp}/inbox", "--seed", "-3"], "'--seed'"),
    (["generate", "{file}"], "is a file, not a folder"),
    (["ingest", "{tmp}/nowhere", "{tmp}/nothing.csv"], "no such file or folder"),
    (["status", "--format", "yaml"], "must be one of text, json"),
    (["status", "--lang", "fr"], "must be zh or en"),
    (["demo", "--port", "70000"], "must be a port number"),
    (["demo", "--months", "0"], "'--months'"),
    (["demo", "--out", "{file}"], "is a file, not a folder"),
    (["close", "2021-13"], "is not a month"),
    (["report", "2021-13", "--out", "{tmp}/b.pdf"], "is not a month"),
    (["report", "2021-03", "--out", "{tmp}"], "is a folder; give a file name"),
    (["report", "2021-03", "--out", "{file}/b.pdf"], "is a file"),
    (["report", "2021-03", "--out", "{tmp}/b.pdf", "--county", "41102"], "must be a six-digit division code"),
    (["report", "2021-03", "--out", "{tmp}/b.pdf", "--lang", "fr"], "zh or en"),
    (["build", "--bogus"], "no such option"),
    (["frobnicate"], "no such command"),
]


@pytest.mark.parametrize("args,fragment", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_option_is_one_plain_line_and_exit_2(args, fragment, medcom_home, tmp_path, a_file):
    args = [a.format(tmp=tmp_path, file=a_file) for a in args]
    p = run_medcom(*args, home=medcom_home, timeout=60)
    _one_plain_error(p, fragment)
    assert not (tmp_path / "inbox").exists()  # nothing written before the check
    assert not (medcom_home / "warehouse.duckdb").exists()


def test_port_in_use_is_refused_before_any_work(medcom_home, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = run_medcom("serve", "--port", str(port), home=medcom_home, timeout=60)
        _one_plain_error(p, f"port {port} on 127.0.0.1 is already in use")
        # demo checks the port before minutes of generate/ingest/build
        p = run_medcom("demo", "--out", str(tmp_path / "inbox"), "--port", str(port), home=medcom_home, timeout=60)
        _one_plain_error(p, "already in use")
    assert not (tmp_path / "inbox").exists()


def test_version(medcom_home):
    p = run_medcom("--version", home=medcom_home)
    assert p.returncode == 0
    assert p.stdout.startswith(f"medcom {medcom.__version__} (duckdb 1.5.5, dbt-core 1.")


# ---------------------------------------------------------------------------- empty warehouse
def test_build_before_any_ingest_refuses_then_builds_when_asked(medcom_home):
    p = run_medcom("build", home=medcom_home, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "nothing has been ingested yet" in p.stderr and "medcom ingest" in p.stderr, p.stderr
    assert "--allow-empty" in p.stderr
    assert p.stderr.count("\n") == 1 and "build ok" not in p.stdout
    assert not (medcom_home / "warehouse.duckdb").exists()
    assert not (medcom_home / "published" / "CURRENT").exists()
    assert not (medcom_home / "builds.jsonl").exists()  # a refusal is not a build

    p = run_medcom("build", "--allow-empty", home=medcom_home, env=FAST)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "build ok:" in p.stdout and (medcom_home / "published" / "CURRENT").exists()
    rec = json.loads((medcom_home / "builds.jsonl").read_text().splitlines()[-1])
    assert rec["engine"] == "duckdb" and rec["outcome"] == "passed" and rec["nodes_passed"] > 300


# ---------------------------------------------------------------------------- a small city, step by step
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A fresh MEDCOM_HOME and a tiny generated inbox (3 months, one month of one county held back)."""
    root = tmp_path_factory.mktemp("small")
    home, inbox = root / "home", root / "inbox"
    p = run_medcom(
        "generate", str(inbox), "--start", "2021-01", "--months", "3", "--scale", "0.002", home=home, env=FAST
    )
    assert p.returncode == 0, p.stderr
    held = root / "held"
    held.mkdir()
    gap = sorted((inbox / "encounters").glob("encounters_2021-02_411002*"))
    assert len(gap) == 1
    shutil.move(str(gap[0]), held / gap[0].name)
    # one file that cannot be read: rejected, named in the verdicts and in status
    (inbox / "phs_funds" / "phs_funds_2021-04.csv").write_text("nonsense,columns\n1,2\n", encoding="utf-8")
    return {"root": root, "home": home, "inbox": inbox, "generate": p}


def test_generate_quiet_by_default_with_summary_and_hint(small):
    p = small["generate"]
    # the files in the inbox, minus the bad one added afterwards, plus the one held back
    files = len([f for f in small["inbox"].rglob("*") if f.is_file()])
    assert f"generate ok: {files} files" in p.stdout
    assert f"next: medcom ingest {small['inbox']}" in p.stderr
    assert ".csv:" not in p.stderr  # per-file lines only in the log
    log = re.search(r"details: (\S+\.log)", p.stderr).group(1)
    assert os.path.dirname(log) == str(small["home"] / "logs")
    per_file = re.compile(r"generate: \S+: [\d,]+ rows \(")
    assert sum(1 for line in Path(log).read_text(encoding="utf-8").splitlines() if per_file.search(line)) == files


def test_generate_verbose_shows_each_file(tmp_path, medcom_home):
    p = run_medcom("generate", str(tmp_path / "g"), "--months", "1", "--scale", "0.001", "--verbose", home=medcom_home)
    assert p.returncode == 0, p.stderr
    n = len([f for f in (tmp_path / "g").rglob("*") if f.is_file()])
    assert sum(1 for line in p.stderr.splitlines() if re.search(r"generate: \S+: [\d,]+ rows \(", line)) == n


@pytest.fixture(scope="module")
def ingested(small):
    """`medcom ingest` of the small inbox, output piped (not a terminal)."""
    return run_medcom("ingest", str(small["inbox"]), home=small["home"], env=FAST)


@pytest.fixture(scope="module")
def built(small, ingested):
    """`medcom build` after the ingest, output piped; (process, wall seconds)."""
    t0 = time.monotonic()
    p = run_medcom("build", home=small["home"], env=FAST)
    return p, time.monotonic() - t0


def test_ingest_off_a_terminal(small, ingested):
    p = ingested
    assert p.returncode == 1, p.stdout + p.stderr  # the bad file is rejected
    out = p.stdout.splitlines()
    files = len([f for f in small["inbox"].rglob("*") if f.is_file()])
    # a verdict per file on stdout (spec), then the summary
    assert len([line for line in out if re.match(r"(accepted|REJECTED|duplicate)\s", line)]) == files
    assert re.search(rf"^{files} file\(s\): \d+ accepted, 1 rejected", out[-1]), out[-1]
    assert any(line.startswith("REJECTED") and "phs_funds_2021-04.csv" in line for line in out)
    # plain progress lines on stderr (not a terminal): periodic ingest lines, a final one, publish
    err = p.stderr.splitlines()
    assert any(re.fullmatch(rf"ingest: {files}/{files} files · 0:\d\d:\d\d · done", line) for line in err), err
    assert any(re.match(r"ingest: \d+/\d+ files · ", line) and "done" not in line for line in err), err
    assert any(line.startswith("publish: ") and line.endswith("done") for line in err)
    assert "\x1b[" not in p.stderr and "━" not in p.stderr  # no terminal control codes in a pipe
    assert "fix the REJECTED files" in p.stderr and "medcom build" in p.stderr


def test_build_off_a_terminal_has_a_bar_not_349_lines(small, built):
    home = small["home"]
    p, seconds = built
    assert p.returncode == 0, p.stdout + p.stderr
    err = p.stderr.splitlines()
    final = [line for line in err if re.fullmatch(r"build: (\d+)/\1 nodes · 0:\d\d:\d\d · done", line)]
    assert len(final) == 1, err
    nodes = int(final[0].split("/")[0].split()[-1])
    assert nodes > 300
    # nothing but periodic progress lines (one per interval), the log's path and the next step
    other = [line for line in err if not re.fullmatch(r"(build|publish): [^·]+ · \d+:\d\d:\d\d( · .*)?", line)]
    assert [x.split(":")[0] for x in other] == ["details", "next"], other
    assert len(err) - 2 <= seconds / 0.5 + 3
    assert re.fullmatch(
        rf"build ok: {nodes} nodes passed in [\d.]+ s \(full build: no earlier build of this warehouse to build on\); "
        r"published warehouse-\S+",
        p.stdout.strip(),
    )
    assert "next: medcom serve" in p.stderr
    log = re.search(r"details: (\S+\.log)", p.stderr).group(1)
    text = Path(log).read_text(encoding="utf-8")
    assert len(re.findall(r"build:\s+\[\d+/\d+\] (ok|WARN)\s", text)) == nodes  # every node in the log file
    rec = json.loads((home / "builds.jsonl").read_text().splitlines()[-1])
    assert rec["outcome"] == "passed" and rec["engine"] == "duckdb" and rec["nodes_passed"] == nodes
    assert rec["snapshot"] == (home / "published" / "CURRENT").read_text().split("/")[0]
    assert rec["seconds"] > 0 and rec["log"] == log


def test_status_json_after_ingest_and_build(small, built):
    home = small["home"]
    p = run_medcom("status", "--format", "json", home=home)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["warehouse"]["path"] == str(home / "warehouse.duckdb")
    assert r["warehouse"]["bytes"] == (home / "warehouse.duckdb").stat().st_size
    assert r["warehouse"]["writer_running_pid"] is None
    snap = (home / "published" / "CURRENT").read_text().strip()
    assert r["published"]["snapshot"] == snap.split("/")[0] and r["published"]["has_marts"]
    assert r["published"]["from_build"] == r["last_build"]["started_at"]
    # the latest ingest run, as in the audit table
    with duckdb.connect(str(home / "published" / snap), read_only=True) as con:
        run_id, n_files = con.execute(
            "SELECT run_id, count(*) FROM audit.ingest_batches GROUP BY 1 ORDER BY 1 DESC LIMIT 1"
        ).fetchone()
        enc_months = con.execute(
            "SELECT DISTINCT _coverage_key FROM raw.encounters WHERE _superseded_by IS NULL "
            "AND _coverage_key LIKE '411002:%' ORDER BY 1"
        ).fetchall()
    li = r["last_ingest"]
    assert li["run_id"] == run_id and li["files"] == n_files and li["verdicts"]["rejected"] == 1
    assert [f["file"] for f in li["file_list"] if f["verdict"] == "rejected"] == ["phs_funds/phs_funds_2021-04.csv"]
    # months per feed and county, with the held-back month named as a gap
    assert [k for (k,) in enc_months] == ["411002:2021-01", "411002:2021-03"]
    enc = r["coverage"]["encounters"]
    assert enc["kind"] == "monthly" and enc["latest"] == "2021-03"
    assert enc["counties"]["411002"] == {
        "first": "2021-01",
        "last": "2021-03",
        "periods": 2,
        "span": 3,
        "gaps": ["2021-02"],
        "behind_latest": 0,
    }
    assert enc["counties"]["411081"]["gaps"] == [] and enc["counties"]["411081"]["periods"] == 3
    assert r["coverage"]["regions"]["kind"] == "snapshot" and r["coverage"]["regions"]["rows"] > 0
    assert r["last_build"]["outcome"] == "passed" and r["next"] == "medcom serve"


def test_status_text_in_english_and_chinese(small, built):
    home = small["home"]
    en = run_medcom("status", "--lang", "en", home=home)
    assert en.returncode == 0, en.stderr
    t = en.stdout
    assert f"warehouse: {home / 'warehouse.duckdb'} (" in t
    assert re.search(r"last ingest: r\S+ \(.* UTC\) — \d+ files: \d+ accepted, 1 rejected", t), t
    assert "rejected: phs_funds/phs_funds_2021-04.csv" in t
    assert re.search(r"411002 \S+\s+2021-01…2021-03 \(2 months\), missing 2021-02", t), t
    assert re.search(
        r"last build: passed, engine duckdb, .* UTC, took ([\d.]+ s|\d+ min \d+ s), \d+ nodes passed", t
    ), t
    assert "next: medcom serve" in t
    zh = run_medcom("status", "--lang", "zh", home=home)
    assert "最近一次导入" in zh.stdout and "缺 2021-02" in zh.stdout and "最近一次构建: 通过" in zh.stdout
    # the default language comes from the locale
    by_locale = run_medcom("status", home=home, env={"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert by_locale.stdout == zh.stdout
    by_locale = run_medcom("status", home=home, env={"LANG": "en_US.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    assert by_locale.stdout == en.stdout


def test_status_on_a_fresh_home(medcom_home):
    p = run_medcom("status", "--lang", "en", home=medcom_home)
    assert p.returncode == 0, p.stderr
    assert "not created yet (nothing ingested)" in p.stdout and "next: medcom ingest INBOX" in p.stdout
    r = json.loads(run_medcom("status", "--format", "json", home=medcom_home).stdout)
    assert r["published"] is None and r["last_ingest"] is None and r["last_build"] is None
    assert not (medcom_home / "warehouse.duckdb").exists()


# ---------------------------------------------------------------------------- on a terminal
def _run_in_pty(args, env, timeout=120) -> str:
    pid, fd = pty.fork()
    if pid == 0:  # child: the terminal is stdin/stdout/stderr
        os.execve(MEDCOM, [MEDCOM, *args], env)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, b"".join(chunks).decode("utf-8", "replace")
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_live_bar_on_a_terminal(tmp_path, medcom_home):
    env = dict(os.environ, MEDCOM_HOME=str(medcom_home), MEDCOM_SECRET="x", TERM="xterm-256color", COLUMNS="120")
    out = _run_in_pty(["generate", str(tmp_path / "g"), "--months", "2", "--scale", "0.002"], env)
    n = len([f for f in (tmp_path / "g").rglob("*") if f.is_file()])
    assert "━" in out and "\x1b[" in out  # a rich bar, redrawn in place
    assert re.search(rf"generate\s.*{n}/{n}", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)), out
    assert " rows (" not in out  # per-file lines are in the log file only
    assert "generate ok:" in out and "next: medcom ingest" in out


def test_no_traceback_for_a_missing_published_warehouse(medcom_home):
    p = run_medcom("sql", "select 1", home=medcom_home)
    assert p.returncode != 0 and "Traceback" not in p.stderr and "unexpected error" not in p.stderr
    assert "medcom build" in p.stderr, p.stderr


def test_writer_pid_shown_while_a_writer_runs(small, built):
    """status reads the published snapshot, so it answers while an ingest holds the writer."""
    home = small["home"]
    held = next((small["root"] / "held").iterdir())
    env = dict(os.environ, MEDCOM_HOME=str(home), MEDCOM_SECRET="test-secret", MEDCOM_TEST_PAUSE_IN_LOAD="30")
    proc = subprocess.Popen([MEDCOM, "ingest", str(held)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline().decode()
            if "inside the load transaction" in line or not line:
                break
        r = json.loads(run_medcom("status", "--format", "json", home=home).stdout)
        assert r["warehouse"]["writer_running_pid"] == proc.pid
        assert r["next"] is None
        assert r["published"]["has_marts"]
    finally:
        proc.kill()
        proc.wait()
    r = json.loads(run_medcom("status", "--format", "json", home=home).stdout)
    assert r["warehouse"]["writer_running_pid"] is None  # a killed writer does not count


@pytest.mark.skipif(
    importlib.util.find_spec("medcom.access.users") is None, reason="sign-in (medcom.access.users) has not landed yet"
)
def test_status_counts_users_per_role(medcom_home):
    for name, role in (("ada", "admin"), ("ann", "analyst"), ("abe", "analyst")):
        p = subprocess.run(
            [MEDCOM, "users", "add", name, "--role", role, "--password-stdin"],
            input="a long enough password\n",
            env=dict(os.environ, MEDCOM_HOME=str(medcom_home), MEDCOM_SECRET="x"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stdout + p.stderr
    assert run_medcom("users", "disable", "abe", home=medcom_home).returncode == 0
    r = json.loads(run_medcom("status", "--format", "json", home=medcom_home).stdout)
    assert r["users"] == {"admin": 1, "analyst": 1, "disabled": 1}
    text = run_medcom("status", "--lang", "en", home=medcom_home).stdout
    assert "users: admin 1, analyst 1; disabled 1" in text
