"""Write feed tables the way real deliveries look: CSV (UTF-8, UTF-8 with BOM, GB18030),
XLSX with title rows, Parquet; English or Chinese headers, codes or Chinese labels,
ISO or other accepted date formats. Output is byte-for-byte deterministic.

In-memory convention for a feed table (pyarrow): text/code/enum → string, date → date32,
month → string `YYYY-MM`, year/int → int64, money → int64 **cents**, number → float64,
bool → bool. Only contract columns (by name) are written, in contract order.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from medcom import progress
from medcom.contract import load_contract

FIXED_TIME = dt.datetime(2020, 1, 1, 0, 0, 0)  # XLSX document properties (determinism)


@dataclass(frozen=True)
class Style:
    fmt: str = "csv"  # csv | xlsx | parquet
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gb18030 | gbk (csv only)
    headers: str = "en"  # en | zh (first Chinese alias)
    labels: str = "code"  # code | zh (enum values and booleans as Chinese labels / 是否)
    dates: str = "iso"  # iso | slash (YYYY/MM/DD) | compact (YYYYMMDD, months YYYYMM) | excel (xlsx cells)
    title_rows: tuple[str, ...] = ()  # xlsx: rows above the header
    units: bool = False  # zh headers: money columns get a unit, e.g. 总费用（元）
    alias_index: int = 0  # which Chinese alias to use when a column has several

    def describe(self) -> str:
        bits = [self.fmt]
        if self.fmt == "csv":
            bits.append(self.encoding)
        bits.append(f"{self.headers} headers")
        if self.labels != "code":
            bits.append("zh labels")
        if self.dates != "iso":
            bits.append(f"{self.dates} dates")
        if self.title_rows:
            bits.append(f"{len(self.title_rows)} title row(s)")
        return ", ".join(bits)


class Progress:
    """Counts written files and rows; each file is a detail line of the running `generate` step
    (medcom.progress: log file, screen with --verbose), warnings go to stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.t0 = time.monotonic()
        self.files = 0
        self.rows = 0

    def file_done(self, path: Path, rows: int, style: Style | None = None) -> None:
        self.files += 1
        self.rows += rows
        if not self.quiet:
            extra = f" ({style.describe()})" if style else ""
            line = f"{path}: {rows:,} rows{extra}"
            step = progress.current()
            if step is not None:
                step.advance(detail=line)
                step.note(f"{self.rows:,} rows")
            else:
                progress.detail(line)

    def note(self, msg: str) -> None:
        if not self.quiet:
            if msg.startswith("warning"):
                progress.echo(msg, err=True)
            else:
                progress.detail(msg)


# ---------------------------------------------------------------------------- helpers
def cents_to_decimal(cents: pa.Array | np.ndarray) -> pa.Array:
    """int64 cents → decimal128(18, 2) without going through floats."""
    arr = cents if isinstance(cents, pa.Array) else pa.array(np.asarray(cents, dtype=np.int64))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    vals = arr.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    buf = np.zeros((n, 2), dtype=np.int64)
    buf[:, 0] = vals
    buf[:, 1] = np.where(vals < 0, -1, 0)
    validity = None
    if arr.null_count:
        validity = pc.is_valid(arr).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [validity, pa.py_buffer(buf)], null_count=arr.null_count)


def to_arrow(records, feed: str) -> pa.Table:
    """A pandas DataFrame / list of dicts → feed table in the in-memory convention.

    money values are given in yuan (floats) and converted to cents here.
    """
    import pandas as pd

    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records)
    f = load_contract().feeds[feed]
    cols = {}
    for name, col in f.columns.items():
        if name not in df.columns:
            continue
        s = df[name]
        vals = [None if _isnull(v) else v for v in s.tolist()]
        if col.type == "money":
            cols[name] = pa.array([None if v is None else int(round(float(v) * 100)) for v in vals], pa.int64())
        elif col.type in ("int", "year"):
            cols[name] = pa.array([None if v is None else int(v) for v in vals], pa.int64())
        elif col.type == "number":
            cols[name] = pa.array([None if v is None else float(v) for v in vals], pa.float64())
        elif col.type == "bool":
            cols[name] = pa.array([None if v is None else bool(v) for v in vals], pa.bool_())
        elif col.type == "date":
            cols[name] = pa.array(vals, pa.date32())
        else:
            cols[name] = pa.array([None if v is None else str(v) for v in vals], pa.string())
    return pa.table(cols)


def _isnull(v) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN / NaT
    except (TypeError, ValueError):
        return False


def header_name(feed: str, column: str, style: Style) -> str:
    col = load_contract().feeds[feed].columns[column]
    if style.headers != "zh" or not col.aliases:
        return column
    name = col.aliases[min(style.alias_index, len(col.aliases) - 1)]
    if style.units and col.type == "money":
        name += "（元）"
    return name


def _label_map(enum: str) -> tuple[list[str], list[str]]:
    codes = load_contract().enums[enum]
    return list(codes), [labels[0].split("/")[0] for labels in codes.values()]


def prepare(table: pa.Table, feed: str, style: Style, *, for_parquet: bool = False) -> pa.Table:
    """Apply the style to a feed table: labels, date formats, money, headers."""
    f = load_contract().feeds[feed]
    names, arrays = [], []
    for name, col in f.columns.items():
        if name not in table.column_names:
            continue
        arr = table[name].combine_chunks() if isinstance(table[name], pa.ChunkedArray) else table[name]
        if col.type == "money":
            arr = cents_to_decimal(arr)
        elif col.type == "enum" and style.labels == "zh":
            codes, labels = _label_map(col.enum)
            idx = pc.index_in(arr, value_set=pa.array(codes))
            arr = pc.coalesce(pc.take(pa.array(labels), idx), arr)  # values already labels stay
        elif col.type == "bool" and style.labels == "zh":
            arr = pc.if_else(arr, pa.scalar("是"), pa.scalar("否"))
        elif col.type == "date" and not for_parquet and style.dates in ("slash", "compact"):
            fmt = "%Y/%m/%d" if style.dates == "slash" else "%Y%m%d"
            arr = pc.strftime(arr.cast(pa.timestamp("s")), format=fmt)
        elif col.type == "month" and not for_parquet and style.dates == "compact":
            arr = pc.replace_substring(arr, "-", "")
        names.append(header_name(feed, name, style))
        arrays.append(arr)
    return pa.table(arrays, names=names)


def _csv_bytes(table: pa.Table, header: bool) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


# ---------------------------------------------------------------------------- writers
def write_feed(
    path: Path, chunks: pa.Table | Iterable[pa.Table], feed: str, style: Style, progress: Progress | None = None
) -> int:
    """Write one file; `chunks` is a table or an iterable of tables (streamed). Returns rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(chunks, pa.Table):
        chunks = [chunks]
    if style.fmt == "csv":
        n = _write_csv(path, chunks, feed, style)
    elif style.fmt == "parquet":
        n = _write_parquet(path, chunks, feed, style)
    elif style.fmt == "xlsx":
        n = _write_xlsx(path, chunks, feed, style)
    else:  # pragma: no cover
        raise ValueError(style.fmt)
    if progress is not None:
        progress.file_done(path, n, style)
    return n


def _write_csv(path: Path, chunks: Iterable[pa.Table], feed: str, style: Style) -> int:
    n = 0
    first = True
    with open(path, "wb") as fh:
        if style.encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        for chunk in chunks:
            if chunk.num_rows == 0 and not first:
                continue
            data = _csv_bytes(prepare(chunk, feed, style), header=first)
            if style.encoding in ("gb18030", "gbk"):
                data = data.decode("utf-8").encode(style.encoding)
            fh.write(data)
            n += chunk.num_rows
            first = False
    return n


def _write_parquet(path: Path, chunks: Iterable[pa.Table], feed: str, style: Style) -> int:
    n = 0
    writer = None
    try:
        for chunk in chunks:
            t = prepare(chunk, feed, style, for_parquet=True)
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema, compression="zstd", store_schema=False)
            writer.write_table(t)
            n += chunk.num_rows
    finally:
        if writer is not None:
            writer.close()
    return n


def _write_xlsx(path: Path, chunks: Iterable[pa.Table], feed: str, style: Style) -> int:
    import xlsxwriter

    table = pa.concat_tables(list(chunks))
    f = load_contract().feeds[feed]
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    wb.set_properties({"created": FIXED_TIME, "author": "medcom generator"})
    ws = wb.add_worksheet(f.title_zh[:31])
    bold = wb.add_format({"bold": True})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r = 0
    ncols = len([c for c in f.columns if c in table.column_names])
    for title in style.title_rows:
        if ncols > 1:
            ws.merge_range(r, 0, r, ncols - 1, title, bold)
        else:
            ws.write_string(r, 0, title, bold)
        r += 1
    excel_dates = style.dates == "excel"
    prepared = prepare(
        table, feed, style if not excel_dates else Style(**{**style.__dict__, "dates": "iso"}), for_parquet=excel_dates
    )
    for j, name in enumerate(prepared.column_names):
        ws.write_string(r, j, name, bold)
    r += 1
    cols = [prepared[c].to_pylist() for c in prepared.column_names]
    kinds = [f.columns[c].type for c in f.columns if c in table.column_names]
    for i in range(prepared.num_rows):
        for j, vals in enumerate(cols):
            v = vals[i]
            if v is None:
                continue
            k = kinds[j]
            if k in ("int", "year", "number"):
                ws.write_number(r + i, j, v)
            elif k == "money":
                ws.write_number(r + i, j, float(v))
            elif isinstance(v, dt.date):
                ws.write_datetime(r + i, j, dt.datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, bool):
                ws.write_string(r + i, j, "true" if v else "false")
            else:
                ws.write_string(r + i, j, str(v))
    wb.close()
    return table.num_rows
