"""Read one input file (CSV, XLSX or Parquet) into the scratch table `source`.

`read_source(path, feed, con)` streams the file into table `source` of the scratch DuckDB
connection `con`; it never holds the whole file in Python (regular CSV and Parquet are read
by DuckDB itself; the csv-module fallback and XLSX rows are appended in Arrow chunks of
`CHUNK_ROWS` rows).

Table `source` (created or replaced):

| column | type | content |
|---|---|---|
| every contract column of the feed, contract order | VARCHAR | the cell text, trimmed; `''` → NULL; NULL for optional columns absent from the file |
| `_row_number` | BIGINT | data row number in the file, 1 = first row after the header row. Blank rows are skipped but keep their number, so `header_row + _row_number` is the row/line of the record in the file (CSV: multi-line quoted values shift it) |
| `_shape_error` | VARCHAR | NULL normally; plain-words reason when the CSV row is malformed (wrong number of fields, broken quoting). Such a row is kept (fields padded with NULL / cut) so it can be quarantined with this reason |

Blank rows (every field empty) are skipped and not counted in `rows_read`.

How values become text:

- CSV: the text as written (trimmed). Encoding detected: UTF-8 (with or without BOM),
  else GB18030 (a superset of GBK/GB2312). Delimiter: `,` unless the header line has more
  tabs / semicolons / bars than commas. Parsed by DuckDB's own (parallel) CSV reader in one
  SQL statement when the file is regular (header on the first line, balanced quotes, no empty
  line, every row with the header's number of fields — strict mode); a GB18030 file is
  transcoded to a UTF-8 copy in `tmp_dir` during the encoding check (Python's codec: ~25x
  less CPU than DuckDB's `encodings` extension, measured) and the copy read the same way, then
  deleted. Otherwise (or when DuckDB stops) the file is read again, row by row, with the csv
  module, which keeps irregular rows with a `_shape_error`. A last line without a newline that has fewer
  fields than the header, or an unclosed quote at the end, means "file is truncated".
- XLSX (first worksheet; the header row is the first row of the first 50 in which at least
  half of the feed's required columns are recognised; rows above it are title rows). Read by
  python-calamine (Rust; cached values of formulas, shared, inline and rich strings, date
  number formats incl. the Chinese ones such as `yyyy"年"m"月"d"日"`; merged cells hold their
  value in the top-left cell only); a workbook it cannot read is read by openpyxl (read-only
  mode) instead. calamine holds the sheet's cells in memory while it is read (XLSX feeds are
  registries and yearly tables; Excel caps a sheet at 1,048,576 rows). The sheet's stored
  dimension is ignored (a wrong one would cut rows). Error cells (`#DIV/0!` …) are empty.
  Cells become text so:
  text cells as is; booleans `true`/`false`; whole numbers without a decimal point
  (`411025001`, never `411025001.0`); other numbers with at most 15 significant digits
  (what Excel shows) and no exponent; date cells `YYYY-MM-DD` (with ` HH:MM:SS` when they
  carry a time); in `date` columns a plain number below 100000 is an Excel serial date and
  becomes `YYYY-MM-DD` (larger numbers such as `20201015` stay as written); in `month`
  columns a date on the 1st of a month (or a serial number for it) becomes `YYYY-MM`.
- Parquet: strings trimmed; integers as written; whole-valued floats without `.0`;
  decimals as DuckDB prints them; dates/timestamps as for XLSX; booleans `true`/`false`.
  Codes stored as numbers have already lost their leading zeros; nothing can restore them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import logging
import math
import os
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingest.errors import FileRejected
from medcom.contract import Feed, load_contract

log = logging.getLogger(__name__)

CHUNK_ROWS = 100_000
FAST_CSV = True  # try Arrow's CSV parser first (tests switch it off to exercise the csv-module path)
FAST_XLSX = True  # read XLSX with python-calamine first (openpyxl when it cannot)
HEADER_SCAN_ROWS = 50
_BLOCK = 1 << 20

EMPTY = "file is empty"
NO_DATA = "no data rows"
TRUNCATED = "file is truncated"
UNDECODABLE = "cannot decode the text (not UTF-8 or GB18030)"
UNREADABLE = "not a readable table"

_MAGIC_ZIP = b"PK\x03\x04"
_MAGIC_PARQUET = b"PAR1"
_MAGIC_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGICS = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"BZh": "a bzip2-compressed file",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"Rar!": "a RAR archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
}

Progress = Callable[[int], None]


@dataclass
class ReadResult:
    """What `read_source` found. `rows_read` = non-blank data rows now in table `source`."""

    format: str  # csv | xlsx | parquet
    encoding: str | None  # csv: utf-8 | utf-8-sig | gb18030; else None
    rows_read: int
    columns_found: list[str]  # canonical columns present in the file, contract order
    extra_columns: list[str]  # file headers that are not columns of the feed (ignored)
    header_row: int | None  # 1-based row of the header in the file (csv record / xlsx row); parquet None
    headers: dict[str, str] = field(default_factory=dict)  # canonical column -> header as written
    shape_errors: int = 0  # rows with `_shape_error` set
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- entry point
def read_source(
    path: Path,
    feed: str,
    con: duckdb.DuckDBPyConnection,
    *,
    progress: Progress | None = None,
    tmp_dir: Path | None = None,
) -> ReadResult:
    """Stream `path` into table `source` of `con`; raise `FileRejected(reason)` when unreadable.

    `tmp_dir`: where a GB18030 file's UTF-8 copy is written while it is read (deleted after).
    """
    path = Path(path)
    spec = load_contract().feeds[feed]
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileRejected(f"{UNREADABLE}: {exc.strerror or exc}") from exc
    if size == 0:
        raise FileRejected(EMPTY)
    with open(path, "rb") as fh:
        head = fh.read(4096)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    kind = _sniff(head, path)
    try:
        if kind == "xlsx":
            result = _read_xlsx(path, spec, con, progress)
        elif kind == "parquet":
            result = _read_parquet(path, spec, con, progress, tail)
        else:
            result = _read_csv(path, spec, con, progress, size, tail, tmp_dir)
    except FileRejected:
        con.execute("DROP TABLE IF EXISTS source")
        raise
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "xlsx", "parquet") and suffix != kind:
        result.warnings.insert(
            0, f"the file is named .{suffix} but holds {kind.upper()} data; it was read as {kind.upper()}"
        )
    return result


def _sniff(head: bytes, path: Path) -> str:
    if head.startswith(_MAGIC_ZIP):
        return "xlsx"
    if head.startswith(_MAGIC_PARQUET):
        return "parquet"
    if head.startswith(_MAGIC_OLE2):
        raise FileRejected(f"{UNREADABLE}: old Excel .xls (or other OLE) file; save it as .xlsx or CSV")
    for magic, what in _BINARY_MAGICS.items():
        if head.startswith(magic):
            raise FileRejected(f"{UNREADABLE}: {what}")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)) or _looks_utf16(head):
        raise FileRejected(UNDECODABLE)  # UTF-16/32 text (Excel "Unicode text"): not an accepted encoding
    if b"\x00" in head:
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".parquet"):
            raise FileRejected(f"{UNREADABLE}: not a valid {suffix[1:].upper()} file")
        raise FileRejected(f"{UNREADABLE}: binary data")
    return "csv"


def _looks_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a BOM: NUL bytes in (almost) every other position."""
    sample = head[:2048]
    if len(sample) < 16 or b"\x00" not in sample:
        return False
    even, odd = sample[0::2], sample[1::2]
    ratios = sorted((even.count(0) / len(even), odd.count(0) / len(odd)))
    return ratios[1] > 0.3 and ratios[0] < 0.05  # zero-padded binary has NULs in both positions


# ----------------------------------------------------------------------------- headers
@dataclass
class _Header:
    mapping: list[str | None]  # per file column: canonical column or None
    found: list[str]
    extra: list[str]
    headers: dict[str, str]


def _recognised_required(cells: Iterable[object], spec: Feed) -> int:
    c = load_contract()
    required = set(spec.required_columns)
    seen = set()
    for cell in cells:
        if cell is None:
            continue
        col = c.match_header(str(cell), spec.name)
        if col in required:
            seen.add(col)
    return len(seen)


def _is_header(cells: list[object], spec: Feed) -> bool:
    n_req = len(spec.required_columns)
    got = _recognised_required(cells, spec)
    return got > 0 and 2 * got >= n_req


def _map_header(cells: list[object], spec: Feed) -> _Header:
    c = load_contract()
    mapping: list[str | None] = []
    first: dict[str, str] = {}
    extra: list[str] = []
    ignore = ("__index_level_", "unnamed:")
    for cell in cells:
        text = "" if cell is None else str(cell).strip()
        col = c.match_header(text, spec.name) if text else None
        if col is None:
            if text and not text.lower().startswith(ignore):
                extra.append(text)
            mapping.append(None)
            continue
        if col in first:
            raise FileRejected(f"two headers map to the same column: {first[col]} and {text} → {col}")
        first[col] = text
        mapping.append(col)
    missing = [name for name in spec.required_columns if name not in first]
    if missing:
        raise FileRejected(f"missing required column(s): {', '.join(missing)}")
    found = [name for name in spec.column_names if name in first]
    return _Header(mapping, found, extra, first)


def _extra_warning(extra: list[str]) -> list[str]:
    return [f"extra column(s) ignored: {', '.join(extra)}"] if extra else []


# ----------------------------------------------------------------------------- sink
_NULL = pa.scalar(None, pa.string())


class _Sink:
    """Collects rows of file cells (str | None) and appends them to `source` in Arrow chunks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: Feed, header: _Header, progress: Progress | None):
        self.con = con
        self.spec = spec
        self.header = header
        self.width = len(header.mapping)
        self.progress = progress
        self.rows: list[list[str | None]] = []
        self.numbers: list[int] = []
        self.shape: list[str | None] = []
        self.n_shape = 0
        self.rows_read = 0
        self.any_shape = False
        cols = ", ".join(f'"{name}" VARCHAR' for name in spec.column_names)
        con.execute(f'CREATE OR REPLACE TABLE source ({cols}, "_row_number" BIGINT, "_shape_error" VARCHAR)')

    def add(self, row: list, number: int, shape_error: str | None = None) -> None:
        if len(self.rows) >= CHUNK_ROWS:
            self.flush()
        self.rows.append(row)
        self.numbers.append(number)
        self.shape.append(shape_error)
        if shape_error is not None:
            self.any_shape = True

    def flush(self) -> None:
        if not self.rows:
            return
        columns = [pa.array(values, type=pa.string()) for values in zip(*self.rows, strict=True)]
        shape = pa.array(self.shape, type=pa.string()) if self.any_shape else None
        self.append(columns, pa.array(self.numbers, type=pa.int64()), shape)
        self.rows, self.numbers, self.shape = [], [], []
        self.any_shape = False

    def append(self, columns: list[pa.Array], numbers: pa.Array, shape: pa.Array | None = None) -> None:
        """Append one chunk: one string array per file column (header order), row numbers, shape errors."""
        n = len(numbers)
        by_name: dict[str, pa.Array] = {}
        keep = None
        for i, raw in enumerate(columns):
            arr = pc.utf8_trim_whitespace(raw)
            arr = pc.if_else(pc.equal(arr, ""), _NULL, arr)
            valid = pc.is_valid(arr)
            keep = valid if keep is None else pc.or_(keep, valid)
            col = self.header.mapping[i]
            if col is not None:
                by_name[col] = arr
        if shape is not None:
            valid = pc.is_valid(shape)
            keep = valid if keep is None else pc.or_(keep, valid)
        else:
            shape = pa.nulls(n, pa.string())
        null_col = pa.nulls(n, pa.string())
        table = pa.table(
            {name: by_name.get(name, null_col) for name in self.spec.column_names}
            | {"_row_number": numbers, "_shape_error": shape}
        )
        if keep is not None:
            table = table.filter(keep)
        if table.num_rows:
            self.con.register("_medcom_chunk", table)
            try:
                self.con.execute("INSERT INTO source SELECT * FROM _medcom_chunk")
            finally:
                self.con.unregister("_medcom_chunk")
            self.rows_read += table.num_rows
            self.n_shape += table.num_rows - table["_shape_error"].null_count
        if self.progress is not None:
            self.progress(self.rows_read)


# ----------------------------------------------------------------------------- CSV
def _check_encoding(path: Path, encoding: str, out: Path | None = None) -> tuple[str, int, bool]:
    """('ok' | 'truncated' (a multi-byte character cut at the end) | 'bad', number of `"` bytes,
    whether the file has an empty line). With `out`, the decoded text is written there as UTF-8
    (GB18030 files: DuckDB's reader then reads the copy)."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    quotes = 0
    blank = False
    prev = b""
    sink = open(out, "w", encoding="utf-8", newline="") if out is not None else None  # noqa: SIM115
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                quotes += block.count(b'"')  # 0x22 is never part of a multi-byte UTF-8 / GB18030 character
                if not blank:
                    edge = prev[-2:] + block
                    blank = b"\n\n" in edge or b"\n\r\n" in edge or b"\r\r" in edge
                prev = block
                try:
                    text = dec.decode(block)
                except UnicodeDecodeError:
                    return "bad", quotes, blank
                if sink is not None:
                    sink.write(text)
        try:
            text = dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return "truncated", quotes, blank
        if sink is not None:
            sink.write(text)
        return "ok", quotes, blank
    finally:
        if sink is not None:
            sink.close()


@dataclass
class _Encoding:
    name: str  # utf-8 | utf-8-sig | gb18030
    quotes: int  # number of `"` in the file
    blank_lines: bool  # an empty line somewhere (DuckDB's reader would skip it and lose the numbering)
    utf8_copy: Path | None = None  # GB18030: the file transcoded to UTF-8 (deleted by the caller)


def _detect_encoding(path: Path, head: bytes, tmp_dir: Path | None = None) -> _Encoding:
    candidates = ["utf-8-sig"] if head.startswith(codecs.BOM_UTF8) else ["utf-8", "gb18030"]
    for encoding in candidates:
        copy = None
        if encoding == "gb18030" and FAST_CSV:
            fd, name = tempfile.mkstemp(prefix="gb18030-", suffix=".csv", dir=tmp_dir)
            os.close(fd)
            copy = Path(name)
        try:
            state, quotes, blank = _check_encoding(path, encoding, copy)
        except BaseException:
            if copy is not None:
                copy.unlink(missing_ok=True)
            raise
        if state != "ok" and copy is not None:
            copy.unlink(missing_ok=True)
        if state == "ok":
            return _Encoding(encoding, quotes, blank, copy)
        if state == "truncated":
            raise FileRejected(TRUNCATED)
    raise FileRejected(UNDECODABLE)


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[list[str] | None, str | None]]:
    """Yield (fields, None) per record, or (None, error) for a record the csv module cannot parse."""
    while True:
        try:
            for row in reader:
                yield row, None
            return
        except csv.Error as exc:
            msg = str(exc)
            if "unexpected end of data" in msg:
                raise FileRejected(TRUNCATED) from exc
            if "field larger than field limit" in msg:
                raise FileRejected(
                    f"{UNREADABLE}: a value is longer than {csv.field_size_limit()} characters (a quote is probably not closed)"
                ) from exc
            yield None, f"row is not valid CSV ({msg})"


def _read_csv(path: Path, spec: Feed, con, progress, size: int, tail: bytes, tmp_dir: Path | None = None) -> ReadResult:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    enc = _detect_encoding(path, head, tmp_dir)
    try:
        return _read_csv_text(path, spec, con, progress, tail, enc)
    finally:
        if enc.utf8_copy is not None:
            enc.utf8_copy.unlink(missing_ok=True)


def _read_csv_text(path: Path, spec: Feed, con, progress, tail: bytes, enc: _Encoding) -> ReadResult:
    encoding = enc.name
    ends_with_newline = tail.endswith((b"\n", b"\r"))
    with open(path, encoding=encoding, errors="strict", newline="") as text:
        first_line = text.readline()
        text.seek(0)
        delimiter = _delimiter(first_line)
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        records = _records(reader)
        # header: first record (of the first HEADER_SCAN_ROWS non-blank ones) that looks like one
        header_cells: list[str] | None = None
        first_nonblank: list[str] | None = None
        header_row = 0
        scanned: list[tuple[int, list[str]]] = []
        for fields, err in records:
            header_row += 1
            if err is not None or not fields or not any(f.strip() for f in fields):
                continue
            if first_nonblank is None:
                first_nonblank = fields
            if _is_header(fields, spec):
                header_cells = fields
                break
            scanned.append((header_row, fields))
            if len(scanned) >= HEADER_SCAN_ROWS:
                break
        if first_nonblank is None:
            raise FileRejected(EMPTY)
        if header_cells is None:
            _map_header(first_nonblank, spec)  # raises: missing required column(s)
            raise FileRejected(f"missing required column(s): {', '.join(spec.required_columns)}")  # pragma: no cover
        header = _map_header(header_cells, spec)
        width = len(header_cells)
        sink = _Sink(con, spec, header, progress)
        regular = header_row == 1 and enc.quotes % 2 == 0 and not enc.blank_lines and first_line.count('"') % 2 == 0
        if FAST_CSV and regular and _duckdb_csv(enc.utf8_copy or path, delimiter, width, sink):
            return _csv_result(sink, header, encoding, header_row)
        sink = _Sink(con, spec, header, progress)  # start again with the csv module
        last_mapped = max(i for i, col in enumerate(header.mapping) if col is not None)
        number = 0
        last: list[str] | None = None
        for fields, err in records:
            number += 1
            last = fields
            if err is not None:
                sink.add([None] * width, number, err)
                continue
            n = len(fields)
            if n == width:
                sink.add(fields, number)
            elif n == 0:
                continue  # empty line
            elif n > width:
                if any(f.strip() for f in fields[width:]):
                    sink.add(fields[:width], number, f"row has {n} fields but the header has {width}")
                else:
                    sink.add(fields[:width], number)
            elif not any(f.strip() for f in fields):
                continue  # blank row such as ",,"
            elif last_mapped < n:
                sink.add(fields + [""] * (width - n), number)  # only ignored columns are missing
            else:
                sink.add(fields + [""] * (width - n), number, f"row has {n} fields but the header has {width}")
        if last is not None and not ends_with_newline and len(last) < width:
            raise FileRejected(TRUNCATED)
        sink.flush()
    return _csv_result(sink, header, encoding, header_row)


def _csv_result(sink: _Sink, header: _Header, encoding: str, header_row: int) -> ReadResult:
    if sink.rows_read == 0:
        raise FileRejected(NO_DATA)
    warnings = _extra_warning(header.extra)
    if sink.n_shape:
        warnings.append(f"{sink.n_shape} row(s) have the wrong number of fields or broken quoting")
    return ReadResult(
        format="csv",
        encoding=encoding,
        rows_read=sink.rows_read,
        columns_found=header.found,
        extra_columns=header.extra,
        header_row=header_row,
        headers=header.headers,
        shape_errors=sink.n_shape,
        warnings=warnings,
    )


def _duckdb_csv(path: Path, delimiter: str, width: int, sink: _Sink) -> bool:
    """Read a well-formed UTF-8 CSV with DuckDB's own (parallel) reader straight into `source`.

    Returns False when DuckDB finds anything irregular (a row with another number of fields,
    broken quoting, a line too long); the caller then reads the file again with the csv
    module, which keeps such rows one by one with a `_shape_error`. The header must be the
    file's first line (skipped); the caller has checked the file has no empty line, so
    DuckDB's record numbers are the data row numbers.
    """
    names = [f"c{i}" for i in range(width)]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    src = (
        f"read_csv({_lit(str(path))}, header = false, skip = 1, auto_detect = false, columns = {columns}, "
        f"delim = {_lit(delimiter)}, quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        "encoding = 'utf-8', max_line_size = 8388608)"
    )
    trimmed = {n: _fast_trim_sql(_q(n)) for n in names}
    by_col = {col: trimmed[names[i]] for i, col in enumerate(sink.header.mapping) if col is not None}
    select = [
        f"{by_col[c]} AS {_q(c)}" if c in by_col else f"CAST(NULL AS VARCHAR) AS {_q(c)}"
        for c in sink.spec.column_names
    ]
    # blank rows (every field empty) are dropped but keep their number; when every file column
    # is a feed column, after the load (one cheap pass) rather than trimming every value twice
    unmapped = [n for n, col in zip(names, sink.header.mapping, strict=True) if col is None]
    where = (" WHERE " + " OR ".join(f"({trimmed[n]}) IS NOT NULL" for n in names)) if unmapped else ""
    try:
        sink.con.execute(
            f"INSERT INTO source SELECT {', '.join(select)}, _n AS _row_number, CAST(NULL AS VARCHAR) AS _shape_error "
            f"FROM (SELECT *, row_number() OVER () AS _n FROM {src}){where}"
        )
        if not unmapped:
            mapped = ", ".join(_q(c) for c in by_col)
            sink.con.execute(f"DELETE FROM source WHERE coalesce({mapped}) IS NULL")
    except duckdb.Error:
        sink.con.execute("DELETE FROM source")
        return False
    sink.rows_read = sink.con.execute("SELECT count(*) FROM source").fetchone()[0]
    if sink.progress is not None:
        sink.progress(sink.rows_read)
    return True


# ----------------------------------------------------------------------------- XLSX
def _number_text(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return ""
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    text = format(Decimal(format(v, ".15g")), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _date_text(d: dt.date, ctype: str) -> str:
    if ctype == "month" and d.day == 1:
        return f"{d.year:04d}-{d.month:02d}"
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _cell_text(v: object, ctype: str | None, epoch: dt.datetime) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if ctype in ("date", "month") and 0 < v < 100000:
            return _date_text((epoch + dt.timedelta(days=v - (1 if _is_1900(epoch) and v > 60 else 0))).date(), ctype)
        return str(v)
    if isinstance(v, float):
        if ctype in ("date", "month") and 0 < v < 100000 and v.is_integer():
            return _cell_text(int(v), ctype, epoch)
        return _number_text(v)
    if isinstance(v, dt.datetime):
        if v.hour == v.minute == v.second == v.microsecond == 0:
            return _date_text(v.date(), ctype or "date")
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return _date_text(v, ctype or "date")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    return str(v)


def _is_1900(epoch: dt.datetime) -> bool:
    return epoch.year < 1904


# Bases for serial numbers in _cell_text: serial 1 = 1900-01-01 (base 1899-12-31; serials after
# 60 skip Excel's fictitious 1900-02-29); in the 1904 system serial 0 = 1904-01-01.
_EPOCH_1900 = dt.datetime(1899, 12, 31)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _excel_epoch(wb) -> dt.datetime:
    if getattr(wb, "epoch", None) is not None and wb.epoch.year == 1904:
        return _EPOCH_1904
    return _EPOCH_1900


def _starts_like_real_zip(path: Path) -> bool:
    """True when the file starts with a plausible ZIP local file header (so it was cut, not garbage)."""
    with open(path, "rb") as fh:
        head = fh.read(30 + 256)
    if len(head) < 30:
        return False
    _sig, version, _flags, method, *_rest, name_len, _extra_len = struct.unpack("<4sHHHHHIIIHH", head[:30])
    name = head[30 : 30 + name_len]
    if method not in (0, 8) or version > 63 or not 0 < name_len <= 255 or len(name) < name_len:
        return False
    return all(32 <= b < 127 for b in name)


def _open_workbook(path: Path):
    import openpyxl

    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except zipfile.BadZipFile as exc:
        if _starts_like_real_zip(path):
            raise FileRejected(TRUNCATED) from exc  # a genuine ZIP stream whose end is missing
        raise FileRejected(f"{UNREADABLE}: damaged file (ZIP signature but not an Excel workbook)") from exc
    except OSError as exc:
        raise FileRejected(f"{UNREADABLE}: {exc}") from exc
    if "xl/workbook.xml" not in names:
        raise FileRejected(f"{UNREADABLE}: a ZIP archive that is not an Excel .xlsx workbook")
    fh = open(path, "rb")  # noqa: SIM115 - closed by _read_xlsx; a file object: openpyxl then accepts any suffix
    try:
        return openpyxl.load_workbook(fh, read_only=True, data_only=True), fh
    except zipfile.BadZipFile as exc:
        fh.close()
        raise FileRejected(TRUNCATED) from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        fh.close()
        raise FileRejected(f"{UNREADABLE}: {type(exc).__name__}: {exc}") from exc


def _workbook_is_1904(path: Path) -> bool:
    """Check the ZIP holds an Excel workbook (plain-words rejections otherwise); True when it
    counts dates from 1904 (serial numbers in date columns are then converted from 1904-01-01)."""
    import re

    try:
        with zipfile.ZipFile(path) as zf:
            if "xl/workbook.xml" not in zf.namelist():
                raise FileRejected(f"{UNREADABLE}: a ZIP archive that is not an Excel .xlsx workbook")
            workbook_xml = zf.read("xl/workbook.xml")
    except (zipfile.BadZipFile, EOFError) as exc:
        if _starts_like_real_zip(path):
            raise FileRejected(TRUNCATED) from exc  # a genuine ZIP stream whose end is missing
        raise FileRejected(f"{UNREADABLE}: damaged file (ZIP signature but not an Excel workbook)") from exc
    except OSError as exc:
        raise FileRejected(f"{UNREADABLE}: {exc}") from exc
    return re.search(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"", workbook_xml) is not None


def _calamine_rows(start: tuple[int, int] | None, sheet) -> Iterator[tuple]:
    """Rows of the sheet like openpyxl's values_only, empty cells None. calamine's rows start
    at row 1 but at the first used column: pad the columns before it (tested with a sheet whose
    used range starts at B3)."""
    pad = (None,) * (start or (0, 0))[1]
    for row in sheet.iter_rows():
        yield pad + tuple(None if v == "" else v for v in row)


def _read_xlsx(path: Path, spec: Feed, con, progress) -> ReadResult:
    if FAST_XLSX:
        is_1904 = _workbook_is_1904(path)
        try:
            from python_calamine import CalamineWorkbook, SheetTypeEnum

            with open(path, "rb") as fh:
                wb = CalamineWorkbook.from_filelike(fh)
                try:
                    sheets = [i for i, m in enumerate(wb.sheets_metadata) if m.typ == SheetTypeEnum.WorkSheet]
                    if not sheets:
                        raise FileRejected(f"{UNREADABLE}: the workbook has no worksheet")
                    sheet = wb.get_sheet_by_index(sheets[0])
                    rows = _calamine_rows(sheet.start, sheet)
                    return _read_sheet(rows, spec, con, progress, _EPOCH_1904 if is_1904 else _EPOCH_1900)
                finally:
                    wb.close()
        except FileRejected:
            raise
        except Exception:  # noqa: BLE001 - anything calamine cannot read: let openpyxl read (or reject) it
            log.debug("calamine could not read %s; using openpyxl", path, exc_info=True)
    wb, fh = _open_workbook(path)
    try:
        if not wb.worksheets:
            raise FileRejected(f"{UNREADABLE}: the workbook has no worksheet")
        ws = wb.worksheets[0]
        # The sheet's stored <dimension> may be wrong (some exporters write A1:A1); without this
        # openpyxl would silently read only that range.
        ws.reset_dimensions()
        epoch = _excel_epoch(wb)
        try:
            return _read_sheet(ws.iter_rows(values_only=True), spec, con, progress, epoch)
        except FileRejected:
            raise
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise FileRejected(TRUNCATED) from exc
        except Exception as exc:  # noqa: BLE001 - damaged sheet XML, zlib errors, ...
            if "decompress" in str(exc).lower() or "crc" in str(exc).lower():
                raise FileRejected(TRUNCATED) from exc
            raise FileRejected(f"{UNREADABLE}: {type(exc).__name__}: {exc}") from exc
    finally:
        wb.close()
        fh.close()


def _read_sheet(rows: Iterator[tuple], spec: Feed, con, progress, epoch) -> ReadResult:
    header_cells: list | None = None
    first_nonblank: list | None = None
    header_row = 0
    for raw in rows:
        header_row += 1
        cells = list(raw)
        if not any(v is not None and str(v).strip() for v in cells):
            continue
        if first_nonblank is None:
            first_nonblank = cells
        if _is_header(cells, spec):
            header_cells = cells
            break
        if header_row >= HEADER_SCAN_ROWS:
            break
    if first_nonblank is None:
        raise FileRejected(EMPTY)
    if header_cells is None:
        _map_header(first_nonblank, spec)
        raise FileRejected(f"missing required column(s): {', '.join(spec.required_columns)}")  # pragma: no cover
    # drop trailing unnamed header cells (Excel often stores empty cells to the right)
    while header_cells and (header_cells[-1] is None or not str(header_cells[-1]).strip()):
        header_cells.pop()
    header = _map_header(header_cells, spec)
    width = len(header_cells)
    types = [spec.columns[c].type if c else None for c in header.mapping]
    sink = _Sink(con, spec, header, progress)
    beyond = False
    for number, raw in enumerate(rows, start=1):
        n = len(raw)
        if n > width:
            if not beyond and any(v is not None and v != "" for v in raw[width:]):
                beyond = True
            raw = raw[:width]
            n = width
        cells = [_cell_text(v, types[i], epoch) for i, v in enumerate(raw)]
        if n < width:
            cells.extend([None] * (width - n))
        sink.add(cells, number)
    sink.flush()
    if sink.rows_read == 0:
        raise FileRejected(NO_DATA)
    warnings = _extra_warning(header.extra)
    if beyond:
        warnings.append("values in columns without a header were ignored")
    return ReadResult(
        format="xlsx",
        encoding=None,
        rows_read=sink.rows_read,
        columns_found=header.found,
        extra_columns=header.extra,
        header_row=header_row,
        headers=header.headers,
        warnings=warnings,
    )


# ----------------------------------------------------------------------------- Parquet
def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# every Unicode whitespace character (what the CSV / XLSX paths trim with Arrow's
# utf8_trim_whitespace); DuckDB's one-argument trim() removes spaces only
_WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


# as one SQL string literal (a chain of chr() calls costs DuckDB ~3x the planning per file)
_WHITESPACE_SQL = "'" + _WHITESPACE.replace("'", "''") + "'"


def _trim_sql(expr: str) -> str:
    return f"NULLIF(trim({expr}, {_WHITESPACE_SQL}), '')"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _maybe_space(code: str) -> str:
    """SQL: TRUE when the character with code point `code` may be whitespace (cheap test)."""
    return f"({code} <= 32 OR {code} BETWEEN 133 AND 12288)"


def _fast_trim_sql(expr: str) -> str:
    """`_trim_sql`, but the (slow) trim of every Unicode whitespace character only runs on values
    whose first or last character may be one; the others are kept as they are."""
    first, last = f"ord({expr})", f"ord(reverse({expr}))"
    return (
        f"NULLIF(CASE WHEN {_maybe_space(first)} OR {_maybe_space(last)} "
        f"THEN trim({expr}, {_WHITESPACE_SQL}) ELSE {expr} END, '')"
    )


def _parquet_expr(src: str, dtype: str, ctype: str) -> str:
    c = _q(src)
    t = dtype.upper()
    if t in ("VARCHAR", "TEXT", "STRING") or t.startswith("VARCHAR") or t.startswith("ENUM"):
        return _trim_sql(f"CAST({c} AS VARCHAR)")
    if t == "BOOLEAN":
        return f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} THEN 'true' ELSE 'false' END"
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return (
            f"CASE WHEN {c} IS NULL OR isnan({c}) OR isinf({c}) THEN NULL "
            f"WHEN {c} = trunc({c}) AND abs({c}) < 1e16 THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) "
            f"ELSE CAST({c} AS VARCHAR) END"
        )
    if t == "DATE" or t.startswith("TIMESTAMP"):
        d = f"CAST({c} AS DATE)"
        day_fmt = f"strftime({d}, '%Y-%m-%d')"
        if ctype == "month":
            day_fmt = f"CASE WHEN day({d}) = 1 THEN strftime({d}, '%Y-%m') ELSE strftime({d}, '%Y-%m-%d') END"
        if t == "DATE":
            return day_fmt
        ts = f"CAST({c} AS TIMESTAMP)"
        return f"CASE WHEN {ts} = CAST({d} AS TIMESTAMP) THEN {day_fmt} ELSE strftime({ts}, '%Y-%m-%d %H:%M:%S') END"
    return _trim_sql(f"CAST({c} AS VARCHAR)")


def _read_parquet(path: Path, spec: Feed, con, progress, tail: bytes) -> ReadResult:
    if tail != _MAGIC_PARQUET:
        raise FileRejected(TRUNCATED)
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
        names = list(meta.schema_arrow.names)
        num_rows = meta.metadata.num_rows
    except Exception as exc:  # noqa: BLE001
        raise FileRejected(f"{UNREADABLE}: {exc}") from exc
    header = _map_header(names, spec)
    src = str(path)
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [src]).fetchall()
    except duckdb.Error as exc:
        raise FileRejected(f"{UNREADABLE}: {exc}") from exc
    dtypes = {row[0]: row[1] for row in described}
    exprs = {}
    for name, col in zip(names, header.mapping, strict=True):
        if col is not None:
            exprs[col] = _parquet_expr(name, dtypes.get(name, "VARCHAR"), spec.columns[col].type)
    select = [
        f"{exprs[c]} AS {_q(c)}" if c in exprs else f"CAST(NULL AS VARCHAR) AS {_q(c)}" for c in spec.column_names
    ]
    cols = ", ".join(f"{_q(name)} VARCHAR" for name in spec.column_names)
    con.execute(f'CREATE OR REPLACE TABLE source ({cols}, "_row_number" BIGINT, "_shape_error" VARCHAR)')
    if num_rows == 0:
        raise FileRejected(NO_DATA)
    nonblank = " OR ".join(f"{_q(c)} IS NOT NULL" for c in spec.column_names)
    sql = (
        f"INSERT INTO source SELECT * FROM (SELECT {', '.join(select)}, "
        f"file_row_number + 1 AS _row_number, CAST(NULL AS VARCHAR) AS _shape_error "
        f"FROM read_parquet(?, file_row_number = true)) WHERE {nonblank}"
    )
    try:
        con.execute(sql, [src])
    except duckdb.Error as exc:
        raise FileRejected(f"{UNREADABLE}: {str(exc).splitlines()[0]}") from exc
    rows_read = con.execute("SELECT count(*) FROM source").fetchall()[0][0]
    if progress is not None:
        progress(rows_read)
    if rows_read == 0:
        raise FileRejected(NO_DATA)
    return ReadResult(
        format="parquet",
        encoding=None,
        rows_read=rows_read,
        columns_found=header.found,
        extra_columns=header.extra,
        header_row=None,
        headers=header.headers,
        warnings=_extra_warning(header.extra),
    )
