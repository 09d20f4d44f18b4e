"""The bulletin PDF read back as a document (pypdf): pages, page numbers, red-cell sentences and
league tables against marts.kpi_values of the shared generated city (read-only: a provisional month)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from medcom_cli import REPO, run_medcom

pypdf = pytest.importorskip("pypdf")
pytestmark = pytest.mark.slow


def _weasy_ok() -> str | None:
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        return f"WeasyPrint cannot load Pango ({exc}); `make test` installs it as root"
    return None


if (why := _weasy_ok()) is not None:  # pragma: no cover - only on machines without Pango
    pytest.skip(why, allow_module_level=True)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_pages(path: Path) -> list[str]:
    return [p.extract_text() or "" for p in pypdf.PdfReader(str(path)).pages]


@pytest.fixture(scope="module")
def facts(city_con):
    month = city_con.execute("SELECT max(period) FROM marts.kpi_values WHERE period_type = 'month'").fetchone()[0]
    names = dict(city_con.execute("SELECT org_level || ':' || org_id, name FROM marts.dim_org").fetchall())
    kpis = {
        r[0]: r[1:] for r in city_con.execute("SELECT kpi_code, name_zh, name_en, unit FROM marts.dim_kpi").fetchall()
    }
    counties = city_con.execute(
        "SELECT org_id, name FROM marts.dim_org WHERE org_level = 'county' ORDER BY 1"
    ).fetchall()
    return {"month": month, "names": names, "kpis": kpis, "counties": counties}


@pytest.fixture(scope="module")
def city_pdf(built_city, tmp_path_factory, facts):
    out = tmp_path_factory.mktemp("bulletin") / "bulletin.pdf"
    r = run_medcom("report", f"{facts['month']:%Y-%m}", "--out", str(out), home=built_city)
    assert r.returncode == 0, r.stderr
    assert "provisional" in r.stdout
    if os.environ.get("MEDCOM_SCREENSHOTS") and shutil.which("pdftoppm"):
        shots = REPO / "docs" / "screenshots"
        league = next(i for i, p in enumerate(pdf_pages(out), start=1) if squash(p).startswith("县（市、区）排名"))
        for first, name in ((1, "bulletin-cover"), (2, "bulletin-scorecard"), (league, "bulletin-league")):
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "60",
                    "-f",
                    str(first),
                    "-l",
                    str(first),
                    "-singlefile",
                    str(out),
                    str(shots / name),
                ],  # fmt: skip
                check=True,
            )
    return out, r.stdout


def fraction_red_sentence(org: str, kpi: str, value: float, target: float, direction: str) -> str:
    word = "低于" if direction == ">=" else "高于"
    t = f"{target * 100:.1f}".rstrip("0").rstrip(".")
    return f"{org} {kpi} {value * 100:.1f}%, {word}目标 {t}% {abs(value - target) * 100:.1f} 个百分点"


def test_bulletin_pages_and_numbers(city_pdf, facts):
    out, stdout = city_pdf
    pages = pdf_pages(out)
    n = len(pages)
    assert f"({n} pages" in stdout
    assert n >= 3 + len(facts["counties"])
    assert (
        "已关账" not in pages[0]
        and "未关账" in pages[0]
        and f"{facts['month'].year}年{facts['month'].month}月" in pages[0]
    )
    for i, text in enumerate(pages[1:], start=2):  # the cover carries no number
        assert f"第{i}页/共{n}页" in squash(text), (i, text[-80:])
    # every county opens its own page
    for _code, name in facts["counties"]:
        assert any(squash(p).startswith(f"县区页：{name}") for p in pages), name
    reader = pypdf.PdfReader(str(out))
    w, h = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(w), round(h)) == (595, 842)  # A4 portrait cover (the scorecard pages are A4 landscape)
    fonts = set()
    for page in reader.pages[:3]:
        for f in page["/Resources"]["/Font"].values():
            fonts.add(str(f.get_object()["/BaseFont"]))
    assert any("CJK" in f for f in fonts), fonts  # the CJK font is embedded (subset)


def test_bulletin_red_cells_match_kpi_values(city_pdf, facts, city_con):
    out, _ = city_pdf
    text = squash("".join(pdf_pages(out)))
    rows = city_con.execute(
        """SELECT k.org_level, k.org_id, k.kpi_code, k.value, k.target, k.direction, k.status
           FROM marts.kpi_values k JOIN marts.dim_kpi d USING (kpi_code)
           WHERE k.period_type = 'month' AND k.period = ? AND d.unit = 'fraction'
             AND k.org_level IN ('city', 'county', 'community')""",
        [facts["month"]],
    ).fetchall()
    reds = [r for r in rows if r[6] == "red"]
    assert reds, "the generated city has red cells"
    for level, oid, code, value, target, direction, _ in rows:
        if value is None:
            continue
        sentence = squash(
            fraction_red_sentence(
                facts["names"][f"{level}:{oid}"], facts["kpis"][code][0], value, target or 0, direction
            )
        )
        if _ == "red":
            assert sentence in text, sentence
        elif target is not None:
            assert sentence not in text, sentence


def test_bulletin_county_league_table_matches_kpi_values(city_pdf, facts, city_con):
    out, _ = city_pdf
    pages = [squash(p) for p in pdf_pages(out)]
    code = "in_county_visit_rate"
    name = facts["kpis"][code][0]
    rows = city_con.execute(
        """SELECT o.name, k.value FROM marts.kpi_values k JOIN marts.dim_org o USING (org_level, org_id)
           WHERE k.kpi_code = ? AND k.org_level = 'county' AND k.period_type = 'month' AND k.period = ?
             AND k.status NOT IN ('no_data', 'insufficient')
           ORDER BY round(k.value, 9) DESC""",
        [code, facts["month"]],
    ).fetchall()
    assert len(rows) >= 2
    league = next(p for p in pages if p.startswith("县（市、区）排名"))
    start = league.index(f"{name}(当月)")
    block = league[start:]
    pos, last_rank, last_value = 0, 0, None
    for i, (org, value) in enumerate(rows, start=1):
        rank = last_rank if last_value is not None and round(value, 9) == round(last_value, 9) else i
        row = f"{rank}{org}{value * 100:.1f}%"
        found = block.find(row, pos)
        assert found >= 0, (row, block[:400])
        pos, last_rank, last_value = found + len(row), rank, value


def test_county_bulletin_holds_only_that_county(built_city, tmp_path, facts):
    code, name = facts["counties"][0]
    out = tmp_path / "county.pdf"
    r = run_medcom(
        "report", f"{facts['month']:%Y-%m}", "--county", code, "--lang", "en", "--out", str(out), home=built_city
    )
    assert r.returncode == 0, r.stderr
    text = squash("".join(pdf_pages(out)))
    assert squash(f"County page: {name}") in text and "Provisional" in text
    city = facts["names"][next(k for k in facts["names"] if k.startswith("city:"))]
    assert city not in text
    for other_code, other in facts["counties"]:
        if other_code != code:
            assert other not in text, other
    assert "County league tables" not in text


def test_report_refuses_in_plain_words(built_city, tmp_path):
    r = run_medcom("report", "2015-01", "--out", str(tmp_path / "x.pdf"), home=built_city)
    assert r.returncode != 0 and "no KPI values for 2015-01" in r.stderr and "Traceback" not in r.stderr
    r = run_medcom("report", "2021-01", "--county", "999999", "--out", str(tmp_path / "x.pdf"), home=built_city)
    assert r.returncode != 0 and "no county with code 999999" in r.stderr
    assert not (tmp_path / "x.pdf").exists()


def _pdftotext(data: bytes, path: Path) -> str:
    """The PDF's text as poppler's pdftotext reads it (pypdf when poppler is not installed)."""
    path.write_bytes(data)
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
        return squash(out.stdout)
    return squash("".join(pdf_pages(path)))


def test_dashboard_bulletin_download_obeys_the_scope(city_env, facts, tmp_path):
    """/bulletin.pdf is the signed-in user's: a county user gets only their county's bulletin and is refused
    another county's; an admin may ask for any county's; a steward (no downloads) and anonymous are refused."""
    from access_helpers import ensure_user, login

    from dashboards.app import create_app

    code, name = facts["counties"][-1]
    other_code, other_name = facts["counties"][0]
    month = f"{facts['month']:%Y-%m}"
    app = create_app()
    with app.server.test_client() as client:
        assert client.get(f"/bulletin.pdf?month={month}").status_code == 401  # anonymous
        login(client, "bulletin-county", ensure_user(city_env, "bulletin-county", "county", code))
        r = client.get(f"/bulletin.pdf?month={month}&lang=zh")
        assert r.status_code == 200 and r.mimetype == "application/pdf", r.data[:200]
        text = _pdftotext(r.data, tmp_path / f"scoped-{code}.pdf")
        assert squash(f"县区页：{name}") in text
        for oc, other in facts["counties"]:
            if oc != code:
                assert other not in text, other
        city = facts["names"][next(k for k in facts["names"] if k.startswith("city:"))]
        assert city not in text and "县（市、区）排名" not in text
        # another county's bulletin: refused, none of its content
        r = client.get(f"/bulletin.pdf?month={month}&lang=zh&county={other_code}")
        assert r.status_code == 403 and r.mimetype != "application/pdf" and other_name.encode() not in r.data
        assert client.get(f"/bulletin.pdf?month={month}&county={code}").status_code == 200  # its own, by name
        client.get("/logout")
        # an admin may ask for one county's bulletin
        login(client, "bulletin-admin", ensure_user(city_env, "bulletin-admin", "admin"))
        r = client.get(f"/bulletin.pdf?month={month}&lang=zh&county={other_code}")
        assert r.status_code == 200, r.data[:200]
        text = _pdftotext(r.data, tmp_path / f"admin-{other_code}.pdf")
        assert squash(f"县区页：{other_name}") in text and name not in text
        client.get("/logout")
        login(client, "bulletin-steward", ensure_user(city_env, "bulletin-steward", "steward"))
        assert client.get(f"/bulletin.pdf?month={month}").status_code == 403
    entries = [e for e in _log(city_env) if e.get("event") == "bulletin"]
    assert {e["user"] for e in entries} >= {"bulletin-county", "bulletin-admin"}


def _log(home: Path) -> list[dict]:
    import json

    f = home / "access" / "log.jsonl"
    return [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines()] if f.exists() else []


def test_bulletin_marks_provisional_cells_like_the_dashboard(dq_city, tmp_path, monkeypatch):
    """The tiny city whose county A sent half its usual volume in 2021-01 and county B nothing: the PDF
    (read back with pdftotext) carries the provisional mark, its legend and what is missing, in zh and
    en; the cells marked are exactly the provisional ones of marts.kpi_cell_quality."""
    from datetime import date

    from dq_city import OUTLIER_MONTH, OUTLIER_WARNING, OUTLIER_WARNING_ZH
    from ingest_helpers import COUNTY_B

    import warehouse
    from medcom.bulletin import gather

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed; `make test` installs it")
    expect = {
        "zh": ("暂定=数据不完整或有批次预警", OUTLIER_WARNING_ZH, f"缺：就诊结算记录{COUNTY_B}2021-01"),
        "en": ("Provisional=incompletedataorabatchwarning", OUTLIER_WARNING, f"missing:Encounters{COUNTY_B}2021-01"),
    }
    for lang, (legend, warning, missing) in expect.items():
        out = tmp_path / f"bulletin-{lang}.pdf"
        r = run_medcom("report", OUTLIER_MONTH, "--lang", lang, "--out", str(out), home=dq_city)
        assert r.returncode == 0, r.stderr
        text = squash(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout)
        assert legend in text and squash(warning) in text and missing in text, (lang, text[:400])

    monkeypatch.setenv("MEDCOM_HOME", str(dq_city))
    con = warehouse.connect_reader()
    try:
        month = date(2021, 1, 1)
        ctx = gather(con, month, lang="en")
        prov = con.execute(
            "SELECT kpi_code, org_level, org_id, period_type FROM marts.kpi_cell_quality "
            "WHERE provisional AND period_type = 'month' AND period = ?",
            [month],
        ).fetchall()
        names = dict(con.execute("SELECT org_level || ':' || org_id, name FROM marts.dim_org").fetchall())
        kname = dict(con.execute("SELECT kpi_code, name_en FROM marts.dim_kpi").fetchall())
    finally:
        con.close()
    sc = ctx["city"]["scorecard"]
    month_cells = [  # cells showing the month's own row (no period note)
        ((row["name"], col), c)
        for row in sc["rows"]
        for col, c in zip(sc["columns"], row["cells"], strict=True)
        if c["status"] != "absent" and not c["note"]
    ]
    marked = {key for key, c in month_cells if c["prov"]}
    unmarked = {key for key, c in month_cells if not c["prov"]}
    shown = {(kname[k], names[f"{lv}:{o}"]) for k, lv, o, _ in prov if names.get(f"{lv}:{o}") in sc["columns"]}
    assert marked and marked == shown and not (unmarked & shown), marked ^ shown
    assert len(sc["notes"]) == len(set(sc["notes"])) and any(OUTLIER_WARNING in n for n in sc["notes"])
