"""XLSX reading: seconds and rows/s of `ingest.read.read_source` on generated workbooks.

    .venv/bin/python benchmarks/bench_xlsx.py [--rows 200000]

Writes (once, with xlsxwriter) a facility-registry-like workbook — 2 merged title rows,
Chinese headers and labels, Excel dates in a Chinese number format, codes as numbers and as
text, a cached formula column — with `--rows` data rows, and the demo city's own XLSX feeds
(facilities, population, fund budgets, reported indicators at scale 0.02), then reads each
into a scratch DuckDB with the default reader and with the openpyxl fallback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import read as read_mod  # noqa: E402
from ingest.read import read_source  # noqa: E402


def write_big(path: Path, rows: int) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("机构")
    title = wb.add_format({"bold": True})
    datefmt = wb.add_format({"num_format": 'yyyy"年"m"月"d"日"'})
    ws.merge_range(0, 0, 0, 9, "许昌市医疗卫生机构名录", title)
    ws.merge_range(1, 0, 1, 9, "数据来源：许昌市卫生健康委员会 医疗机构登记系统")
    header = [
        "机构编码",
        "机构名称",
        "所在县区代码",
        "所在乡镇代码",
        "机构层级",
        "等级",
        "所有制",
        "上级机构编码",
        "开业日期",
        "床位数",
    ]
    ws.write_row(2, 0, header)
    tiers = ["村卫生室", "乡镇卫生院", "县级医院"]
    start = dt.datetime(2000, 1, 1)
    for i in range(rows):
        r = 3 + i
        ws.write_string(r, 0, f"F{i:08d}")
        ws.write_string(r, 1, f"第{i}号卫生室")
        ws.write_number(r, 2, 411025)
        ws.write_number(r, 3, 411025001 + i % 16)
        ws.write_string(r, 4, tiers[i % 3])
        ws.write_string(r, 5, "无")
        ws.write_string(r, 6, "公立")
        ws.write_string(r, 7, f"F{i // 10:08d}")
        ws.write_datetime(r, 8, start + dt.timedelta(days=i % 7000), datefmt)
        ws.write_formula(r, 9, f"={i % 50}+1", None, i % 50 + 1)
    wb.close()


def time_read(path: Path, feed: str, fast: bool, repeat: int) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds of this process, rows read)."""
    read_mod.FAST_XLSX = fast
    best = cpu = float("inf")
    n = 0
    for _ in range(repeat):
        con = duckdb.connect()
        t0, c0 = time.perf_counter(), time.process_time()
        r = read_source(path, feed, con)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
        n = r.rows_read
        con.close()
    return best, cpu, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        big = d / "facilities_big.xlsx"
        t0 = time.perf_counter()
        write_big(big, args.rows)
        print(
            f"wrote {big.name}: {args.rows:,} rows, {big.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
        )
        from medcom.generate import generate

        inbox = d / "inbox"
        generate(inbox, start="2021-01", months=1, scale=0.02, seed=42, quiet=True)
        files = [(big, "facilities", 1)] + [(p, p.parent.name, args.repeat) for p in sorted(inbox.rglob("*.xlsx"))]
        print(f"{'file':<32} {'rows':>8} {'default s':>10} {'cpu s':>7} {'rows/s':>9} {'openpyxl s':>11} {'cpu s':>7}")
        for path, feed, repeat in files:
            s_fast, c_fast, n = time_read(path, feed, True, repeat)
            s_slow, c_slow, _ = time_read(path, feed, False, repeat)
            print(
                f"{path.name:<32} {n:>8,} {s_fast:>10.3f} {c_fast:>7.3f} {n / s_fast:>9,.0f} "
                f"{s_slow:>11.3f} {c_slow:>7.3f}"
            )


if __name__ == "__main__":
    main()
