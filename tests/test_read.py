"""read_source on real files of every format / encoding / header language."""

import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import read as read_mod
from ingest.errors import FileRejected
from ingest.read import read_source

FEED = "phs_services"  # facility_id, month, service_code, units (all required)
HEADER_ZH = "机构编码,月份,服务项目,服务量（次）"
HEADER_EN = "facility_id,month,service_code,units"


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


@pytest.fixture(params=["duckdb", "csv-module"])
def csv_mode(request, monkeypatch):
    """Run a CSV test with both readers: DuckDB's CSV reader and the csv-module fallback."""
    monkeypatch.setattr(read_mod, "FAST_CSV", request.param == "duckdb")
    return request.param


@pytest.fixture(params=["fast", "openpyxl"])
def xlsx_mode(request, monkeypatch):
    """Run an XLSX test with both readers: the built-in streaming parser and openpyxl."""
    monkeypatch.setattr(read_mod, "FAST_XLSX", request.param == "fast")
    return request.param


def rows(con, cols="facility_id, month, service_code, units, _row_number, _shape_error"):
    return con.execute(f"SELECT {cols} FROM source ORDER BY _row_number").fetchall()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


# ----------------------------------------------------------------------------- CSV
@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encodings_chinese_header(tmp_path, con, encoding, expected, csv_mode):
    text = f"{HEADER_ZH}\r\n0001,2020-10,预防接种,5\r\n 0002 ,202011,　健康教育　,7\r\n"
    r = read_source(write(tmp_path, "a.csv", text, encoding), FEED, con)
    assert r.format == "csv"
    assert r.encoding == expected
    assert r.rows_read == 2
    assert r.header_row == 1
    assert r.columns_found == ["facility_id", "month", "service_code", "units"]
    assert r.headers["units"] == "服务量（次）"
    assert rows(con) == [
        ("0001", "2020-10", "预防接种", "5", 1, None),
        ("0002", "202011", "健康教育", "7", 2, None),
    ]


def test_csv_table_layout_all_contract_columns(tmp_path, con, csv_mode):
    # encounters: optional columns absent -> NULL columns still present, contract order
    from medcom.contract import load_contract

    feed = load_contract().feeds["encounters"]
    required = feed.required_columns
    line = ",".join(f"v{i}" for i in range(len(required)))
    r = read_source(write(tmp_path, "e.csv", ",".join(required) + "\n" + line + "\n"), "encounters", con)
    desc = con.execute("DESCRIBE source").fetchall()
    assert [d[0] for d in desc] == [*feed.column_names, "_row_number", "_shape_error"]
    assert {d[1] for d in desc[:-2]} == {"VARCHAR"}
    assert desc[-2][1] == "BIGINT"
    assert r.columns_found == required
    assert con.execute("SELECT referral, discharge_date FROM source").fetchall() == [(None, None)]


def test_csv_header_variants_and_extras(tmp_path, con, csv_mode):
    # case, spaces, full-width brackets / letters, unit suffix, extra column
    text = " FACILITY_ID ,Month,ｓｅｒｖｉｃｅ＿ｃｏｄｅ,服务量(次),备注\n1,2020-10,immunization,3,hello\n"
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert r.extra_columns == ["备注"]
    assert any("备注" in w for w in r.warnings)
    assert rows(con) == [("1", "2020-10", "immunization", "3", 1, None)]


def test_csv_blank_rows_skipped_but_numbered(tmp_path, con, csv_mode):
    text = f"{HEADER_EN}\n1,2020-10,a,1\n\n , , , \n,,,\n2,2020-10,a,2\n"
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert r.rows_read == 2
    assert [x[4] for x in rows(con)] == [1, 5]


def test_csv_empty_values_are_null_and_codes_keep_zeros(tmp_path, con, csv_mode):
    text = f'{HEADER_EN}\n"007",2020-10,"",00\n'
    read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert rows(con) == [("007", "2020-10", None, "00", 1, None)]


def test_csv_quoted_multiline_and_commas(tmp_path, con, csv_mode):
    text = f'{HEADER_EN}\n"1,2","2020-10","a\nb",1\n3,2020-10,c,2\n'
    read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert rows(con) == [("1,2", "2020-10", "a\nb", "1", 1, None), ("3", "2020-10", "c", "2", 2, None)]


def test_csv_tab_delimited(tmp_path, con, csv_mode):
    text = HEADER_ZH.replace(",", "\t") + "\n1\t2020-10\ta\t1\n"
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert r.rows_read == 1


def test_csv_title_rows_skipped(tmp_path, con, csv_mode):
    text = f"2020年10月报表,,,\n\n{HEADER_ZH}\n1,2020-10,a,1\n"
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert r.header_row == 3
    assert rows(con)[0][4] == 1


def test_csv_wrong_field_counts_are_kept_with_shape_error(tmp_path, con, csv_mode):
    text = f"{HEADER_EN},note\n1,2020-10,a,1,x\n2,2020-10,a\n3,2020-10,a,3\n4,2020-10,a,4,x,extra\n5,2020-10,a,5,x,,\n"
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    got = rows(con)
    assert r.rows_read == 5
    assert r.shape_errors == 2
    assert got[0][5] is None
    assert got[1] == ("2", "2020-10", "a", None, 2, "row has 3 fields but the header has 5")
    assert got[2][5] is None  # only the ignored `note` column is missing
    assert got[3][5] == "row has 6 fields but the header has 5"
    assert got[4][5] is None  # trailing empty fields are harmless


def test_csv_broken_quote_in_the_middle(tmp_path, con, monkeypatch):
    text = f'{HEADER_EN}\n1,"2020-10"x,a,1\n2,2020-10,a,2\n'
    monkeypatch.setattr(read_mod, "FAST_CSV", False)
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    got = rows(con)
    assert r.rows_read == 2
    assert got[0][4] == 1 and got[0][5].startswith("row is not valid CSV")
    assert got[1] == ("2", "2020-10", "a", "2", 2, None)
    # DuckDB's reader (strict mode) stops at the broken row, and the csv module keeps it with the reason
    monkeypatch.setattr(read_mod, "FAST_CSV", True)
    r = read_source(write(tmp_path, "a.csv", text), FEED, con)
    assert r.rows_read == 2
    assert rows(con) == got


def test_progress_callback(tmp_path, con, monkeypatch):
    monkeypatch.setattr(read_mod, "CHUNK_ROWS", 10)
    monkeypatch.setattr(read_mod, "FAST_CSV", False)
    text = HEADER_EN + "\n" + "".join(f"{i},2020-10,a,{i}\n" for i in range(35))
    seen = []
    r = read_source(write(tmp_path, "a.csv", text), FEED, con, progress=seen.append)
    assert r.rows_read == 35
    assert seen == [10, 20, 30, 35]
    assert con.execute("SELECT count(*), min(_row_number), max(_row_number) FROM source").fetchall() == [(35, 1, 35)]
    monkeypatch.setattr(read_mod, "FAST_CSV", True)
    seen.clear()
    read_source(write(tmp_path, "a.csv", text), FEED, con, progress=seen.append)
    assert seen and seen[-1] == 35


def test_fast_and_slow_csv_readers_agree(tmp_path, con, monkeypatch):
    lines = [HEADER_ZH + ",备注"]
    for i in range(3000):
        lines.append(f'{i:05d}, 2020-{1 + i % 12:02d} ,"预防,接种",{i},"note ""{i}""\nline 2"')
        if i % 500 == 0:
            lines.append(",,,,")
    p = write(tmp_path, "big.csv", "\r\n".join(lines) + "\r\n", "gb18030")
    out = {}
    for fast in (True, False):
        monkeypatch.setattr(read_mod, "FAST_CSV", fast)
        r = read_source(p, FEED, con)
        out[fast] = (r.rows_read, r.encoding, rows(con))
    assert out[True] == out[False]
    assert out[True][0] == 3000
    assert out[True][2][1] == ("00001", "2020-02", "预防,接种", "1", 3, None)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (b"\n\n", "file is empty"),
        (HEADER_ZH.encode() + b"\n", "no data rows"),
        (HEADER_EN.encode(), "no data rows"),
        ((HEADER_EN + "\n,,,\n").encode(), "no data rows"),
        ((HEADER_EN + "\n1,2020-10,a,1\n2,2020").encode(), "file is truncated"),
        ((HEADER_EN + '\n1,2020-10,a,1\n2,2020-10,"a').encode(), "file is truncated"),
        ((HEADER_EN + '\n1,2020-10,a,1\n2,2020-10,"a\n').encode(), "file is truncated"),
        ((HEADER_EN + "\n1,2020-10,预防接种,1\n").encode("utf-8")[:-3], "file is truncated"),
        ((HEADER_EN + "\n1,2020-10,\x80\xff,1\n").encode("latin-1"), "cannot decode the text (not UTF-8 or GB18030)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a readable table: a PNG image"),
        (b"\x00\x01\x02\x03binary", "not a readable table: binary data"),
        ((HEADER_EN + "\n1,2020-10,a,1\n").encode("utf-16"), "cannot decode the text (not UTF-8 or GB18030)"),
        ((HEADER_EN + "\n1,2020-10,a,1\n").encode("utf-16-le"), "cannot decode the text (not UTF-8 or GB18030)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "not a readable table: old Excel"),
        ("机构编码,服务项目\n1,a\n".encode(), "missing required column(s): month, units"),
        (
            (HEADER_EN + ",服务量\n1,2020-10,a,1,1\n").encode(),
            "two headers map to the same column: units and 服务量 → units",
        ),
    ],
)
def test_csv_rejections(tmp_path, con, content, reason, csv_mode):
    p = tmp_path / "a.csv"
    p.write_bytes(content)
    with pytest.raises(FileRejected) as exc:
        read_source(p, FEED, con)
    assert exc.value.reason.startswith(reason)


def test_truncated_last_line_with_full_fields_is_fine(tmp_path, con, csv_mode):
    r = read_source(write(tmp_path, "a.csv", f"{HEADER_EN}\n1,2020-10,a,1"), FEED, con)
    assert r.rows_read == 1


# ----------------------------------------------------------------------------- XLSX
def _xlsx(path: Path, rows_: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows_:
        ws.append(r)
    wb.create_sheet("second").append(["ignored"])
    wb.save(path)
    return path


def test_xlsx_title_rows_numbers_and_dates(tmp_path, con, xlsx_mode):
    p = _xlsx(
        tmp_path / "a.xlsx",
        [
            ["许昌市 2020年10月 基本公共卫生服务量"],
            [None, "单位：次"],
            ["机构编码", "月份", "服务项目", "服务量（次）"],
            ["0001", dt.datetime(2020, 10, 1), "预防接种", 5],
            [411025001, 44105, " 健康教育 ", 5.0],  # code as number, month as Excel serial
            [None, None, None, None],
            [7, 202012, "a", 2.5, "value without header"],
            [8, dt.datetime(2020, 12, 15), "a", 0.1 + 0.2],
        ],
    )
    r = read_source(p, FEED, con)
    assert r.format == "xlsx"
    assert r.header_row == 3
    assert r.rows_read == 4
    assert "values in columns without a header were ignored" in r.warnings
    assert rows(con) == [
        ("0001", "2020-10", "预防接种", "5", 1, None),
        ("411025001", "2020-10", "健康教育", "5", 2, None),
        ("7", "202012", "a", "2.5", 4, None),
        ("8", "2020-12-15", "a", "0.3", 5, None),
    ]


def test_xlsx_date_column_serials(tmp_path, con, xlsx_mode):
    header = ["case_id", "facility_id", "decided_date", "violation", "fine"]
    p = _xlsx(
        tmp_path / "p.xlsx",
        [
            header,
            ["C1", "F1", dt.date(2021, 3, 5), "其他", 1000],
            ["C2", "F1", 44260, "其他", 1234.5],  # serial 44260 = 2021-03-05
            ["C3", "F1", 20210305, "其他", None],  # YYYYMMDD number stays
            ["C4", "F1", dt.datetime(2021, 3, 5, 14, 30), "其他", True],
        ],
    )
    read_source(p, "penalties", con)
    got = con.execute("SELECT decided_date, fine FROM source ORDER BY _row_number").fetchall()
    assert got == [
        ("2021-03-05", "1000"),
        ("2021-03-05", "1234.5"),
        ("20210305", None),
        ("2021-03-05 14:30:00", "true"),
    ]


def test_xlsx_rejections(tmp_path, con, xlsx_mode):
    good = _xlsx(tmp_path / "g.xlsx", [HEADER_EN.split(","), [1, "2020-10", "a", 1]])
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileRejected, match="file is truncated"):
        read_source(cut, FEED, con)
    head_only = _xlsx(tmp_path / "h.xlsx", [HEADER_EN.split(",")])
    with pytest.raises(FileRejected, match="no data rows"):
        read_source(head_only, FEED, con)
    empty = _xlsx(tmp_path / "e.xlsx", [])
    with pytest.raises(FileRejected, match="file is empty"):
        read_source(empty, FEED, con)
    missing = _xlsx(tmp_path / "m.xlsx", [["机构编码", "月份"], [1, 2]])
    with pytest.raises(FileRejected, match=r"missing required column\(s\): service_code, units"):
        read_source(missing, FEED, con)
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 16)
    with pytest.raises(FileRejected, match="not a readable table"):
        read_source(garbage, FEED, con)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"\x00\x01 not really a workbook")
    with pytest.raises(FileRejected, match="not a readable table"):
        read_source(bad, FEED, con)
    import zipfile

    z = tmp_path / "z.xlsx"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(FileRejected, match="not a readable table"):
        read_source(z, FEED, con)


# ----------------------------------------------------------------------------- Parquet
def test_parquet_types_become_text(tmp_path, con):
    df = pd.DataFrame(
        {
            "case_id": ["C1", " C2 ", "", None],
            "facility_id": [411025001.0, 7.0, 8.0, None],
            "decided_date": pd.to_datetime(["2021-03-05", "2021-03-06", "2021-03-07 10:00", None], format="ISO8601"),
            "violation": ["其他", "other", "x", None],
            "fine": [1000, 2, 3, None],
            "recovered_fund": [1.5, None, 0.25, None],
            "extra": [1, 2, 3, 4],
        }
    )
    p = tmp_path / "p.parquet"
    df.to_parquet(p, index=False)
    r = read_source(p, "penalties", con)
    assert r.format == "parquet"
    assert r.extra_columns == ["extra"]
    assert r.rows_read == 3  # the all-empty 4th row is blank
    got = con.execute(
        "SELECT case_id, facility_id, decided_date, violation, fine, recovered_fund, _row_number FROM source ORDER BY 7"
    ).fetchall()
    assert got == [
        ("C1", "411025001", "2021-03-05", "其他", "1000", "1.5", 1),
        ("C2", "7", "2021-03-06", "other", "2", None, 2),
        (None, "8", "2021-03-07 10:00:00", "x", "3", "0.25", 3),
    ]


def test_parquet_chinese_headers_dates_months(tmp_path, con):
    t = pa.table(
        {
            "机构编码": pa.array(["0001", "0002"]),
            "月份": pa.array([dt.date(2020, 10, 1), dt.date(2020, 11, 1)], type=pa.date32()),
            "服务项目": pa.array(["a", "b"]),
            "服务量（次）": pa.array([1, 2], type=pa.int32()),
        }
    )
    p = tmp_path / "a.parquet"
    pq.write_table(t, p)
    r = read_source(p, FEED, con)
    assert r.rows_read == 2
    assert rows(con) == [("0001", "2020-10", "a", "1", 1, None), ("0002", "2020-11", "b", "2", 2, None)]


def test_parquet_rejections(tmp_path, con):
    t = pa.table({c: pa.array(["1"]) for c in HEADER_EN.split(",")})
    p = tmp_path / "a.parquet"
    pq.write_table(t, p)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(p.read_bytes()[:-30])
    with pytest.raises(FileRejected, match="file is truncated"):
        read_source(cut, FEED, con)
    empty = tmp_path / "e.parquet"
    pq.write_table(t.slice(0, 0), empty)
    with pytest.raises(FileRejected, match="no data rows"):
        read_source(empty, FEED, con)
    dup = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"units": ["1"], "服务量": ["1"], "facility_id": ["1"], "month": ["1"], "service_code": ["1"]}), dup
    )
    with pytest.raises(FileRejected, match="two headers map to the same column: units and 服务量 → units"):
        read_source(dup, FEED, con)


def test_content_decides_the_format_with_a_warning(tmp_path, con):
    p = write(tmp_path, "a.xlsx", f"{HEADER_EN}\n1,2020-10,a,1\n")
    r = read_source(p, FEED, con)
    assert r.format == "csv" and r.rows_read == 1
    assert r.warnings[0] == "the file is named .xlsx but holds CSV data; it was read as CSV"
    x = _xlsx(tmp_path / "x.csv", [HEADER_EN.split(","), [1, "2020-10", "a", 1]])
    r = read_source(x, FEED, con)
    assert r.format == "xlsx" and r.rows_read == 1 and "holds XLSX data" in r.warnings[0]


def test_xlsx_wrong_stored_dimension_does_not_cut_rows(tmp_path, con, xlsx_mode):
    import re
    import zipfile

    good = _xlsx(tmp_path / "g.xlsx", [HEADER_EN.split(",")] + [[i, "2020-10", "a", i] for i in range(10)])
    bad = tmp_path / "dim.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:B2"/>', data)
            zout.writestr(item, data)
    r = read_source(bad, FEED, con)
    assert r.rows_read == 10
    assert rows(con)[-1] == ("9", "2020-10", "a", "9", 10, None)


def test_fast_xlsx_reader_matches_openpyxl(tmp_path, con, monkeypatch):
    import xlsxwriter

    p = tmp_path / "mixed.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("first")
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    dtfmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_row(0, 0, ["报表"])
    ws.write_row(2, 0, ["case_id", "facility_id", "decided_date", "violation", "fine", "recovered_fund"])
    data = [
        ["C1", "0001", dt.datetime(2021, 3, 5), "其他", 1000, 0.1 + 0.2],
        ["C2", 411025001, 44260, "other", 1234.5, True],
        ["C3", "F", 20210305, "x", None, "=1+1"],
        ["C4", " F4 ", dt.datetime(2021, 3, 5, 14, 30), "其他", -2.5e-7, False],
    ]
    for i, row in enumerate(data, start=3):
        for j, v in enumerate(row):
            if isinstance(v, dt.datetime):
                ws.write_datetime(i, j, v, dtfmt if v.hour else datefmt)
            elif isinstance(v, str) and v.startswith("="):
                ws.write_formula(i, j, v, None, 2)
            elif v is not None:
                ws.write(i, j, v)
    ws.write_rich_string(8, 0, "C", wb.add_format({"bold": True}), "9", " rich")
    ws.write(8, 2, "2021-04-01")
    wb.add_worksheet("second").write(0, 0, "ignored")
    wb.close()
    out = {}
    real_open = read_mod._open_workbook

    def no_openpyxl(path):
        raise AssertionError("the fast reader fell back to openpyxl")

    for fast in (True, False):
        monkeypatch.setattr(read_mod, "FAST_XLSX", fast)
        monkeypatch.setattr(read_mod, "_open_workbook", no_openpyxl if fast else real_open)
        r = read_source(p, "penalties", con)
        out[fast] = (r.rows_read, r.header_row, con.execute("SELECT * FROM source ORDER BY _row_number").fetchall())
    assert out[True] == out[False]
    assert out[True][0] == 5 and out[True][1] == 3
    assert out[True][2][0][:6] == ("C1", "0001", "2021-03-05", "其他", "1000", "0.3")
    assert out[True][2][-1][0] == "C9 rich"


def test_xlsx_merged_titles_1904_dates_offset_columns(tmp_path, con, monkeypatch):
    """python-calamine and openpyxl read the same: merged title cells, a 1904 workbook (date
    cells and serial numbers in date columns), the built-in Chinese date format 31, a sheet
    whose used range starts in column B and row 3; error cells are empty with calamine."""
    import xlsxwriter

    p = tmp_path / "m.xlsx"
    wb = xlsxwriter.Workbook(str(p), {"date_1904": True})
    ws = wb.add_worksheet("first")
    zh_date = wb.add_format({"num_format": 31})  # yyyy"年"m"月"d"日"
    ws.merge_range(2, 1, 2, 5, "许昌市 行政处罚 2021年")
    ws.merge_range(3, 1, 3, 5, "单位：元")
    ws.write_row(4, 1, ["案件编号", "机构编码", "处罚日期", "违法类型", "罚没金额"])
    ws.write_row(5, 1, ["C1", "F1"])
    ws.write_datetime(5, 3, dt.datetime(2021, 3, 5), zh_date)
    ws.write_row(5, 4, ["其他", 1000])
    ws.write_row(6, 1, ["C2", "F1", 42798, "其他"])  # serial 42798 in the 1904 system = 2021-03-05
    ws.write_formula(6, 5, "=1000/4", None, 250)
    ws.write_row(7, 1, ["C3", "F1", "2021-03-06", "其他"])
    ws.write_formula(7, 5, "=1/0", None, "#DIV/0!")
    wb.add_worksheet("second").write(0, 0, "ignored")
    wb.close()
    out = {}
    for fast in (True, False):
        monkeypatch.setattr(read_mod, "FAST_XLSX", fast)
        r = read_source(p, "penalties", con)
        got = con.execute(
            "SELECT case_id, facility_id, decided_date, violation, fine, _row_number FROM source ORDER BY _row_number"
        ).fetchall()
        out[fast] = (r.rows_read, r.header_row, got)
    assert out[True][:2] == (3, 5)
    assert out[True][2][:2] == [
        ("C1", "F1", "2021-03-05", "其他", "1000", 1),
        ("C2", "F1", "2021-03-05", "其他", "250", 2),
    ]
    assert out[True][2][2] == ("C3", "F1", "2021-03-06", "其他", None, 3)  # the error cell
    assert out[False][:2] == out[True][:2] and out[False][2][:2] == out[True][2][:2]


def test_regular_csv_is_read_by_duckdb_and_irregular_by_the_csv_module(tmp_path, con, monkeypatch):
    """The fast path really is DuckDB's reader (GB18030 through a UTF-8 copy, deleted after);
    a file with an empty line or a broken row goes to the csv module, with the same rows."""
    calls = []
    real = read_mod._duckdb_csv

    def spy(*args):
        ok = real(*args)
        calls.append(ok)
        return ok

    monkeypatch.setattr(read_mod, "_duckdb_csv", spy)
    text = f'{HEADER_ZH}\r\n0001, 2020-10 ,"预防,接种",5\r\n,,,\r\n"0002","202011","a\nb",7\r\n'
    p = write(tmp_path, "gb.csv", text, "gb18030")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    r = read_source(p, FEED, con, tmp_dir=scratch)
    assert calls == [True] and r.encoding == "gb18030"
    assert list(scratch.iterdir()) == []  # the UTF-8 copy is gone
    fast = rows(con)
    assert fast == [("0001", "2020-10", "预防,接种", "5", 1, None), ("0002", "202011", "a\nb", "7", 3, None)]
    calls.clear()
    read_source(write(tmp_path, "blank.csv", text.replace("\r\n,,,\r\n", "\r\n\r\n"), "gb18030"), FEED, con)
    assert calls == [] and rows(con) == fast  # an empty line: not tried (DuckDB would skip it unnumbered)
    read_source(write(tmp_path, "bad.csv", text + "3,2020-10\r\n"), FEED, con)
    assert calls == [False]
    assert rows(con)[-1] == ("3", "2020-10", None, None, 4, "row has 2 fields but the header has 4")
