"""A realistic delivery calendar for a generated inbox (`medcom generate --calendar`, `medcom demo`).

Real feeds do not all arrive on time. After the city is written, `write_calendar(inbox)`:

- gives every file an arrival date: registries on the first day of the first month; a monthly
  file (name `…_YYYY-MM…`) in the following month, most on days 2–9 (on time), about one in
  eight on days 12–26 (late: after the 10th, outputs.md "Data quality"); a yearly file
  (`…_YYYY…`) on 20 January of the year after (population and fund budgets: of its own year);
- withholds one county's encounters of one month (the file is removed: a missing delivery);
- halves one county-month's encounters file (every second row dropped: an outlier volume,
  which the batch-level expectations warn about);
- writes `deliveries.json` beside the feed folders (ingest skips it: not a table file):
  `{"deliveries": [{"path", "received_at", "note"}], "missing": […], "outlier": …}`.

`arrivals(inbox)` maps every file to its arrival, for `medcom demo` to replay the calendar: one
ingest run in which each batch records its true arrival (as `medcom ingest --received-at` does
for one date). Nothing is random beyond `seed`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

CALENDAR = "deliveries.json"
_MONTH = re.compile(r"_(\d{4})-(\d{2})(?:_|\.)")
_YEAR = re.compile(r"_(\d{4})(?:_|\.)")
_ENC = re.compile(r"^encounters_(\d{4}-\d{2})_(\d{6})\.csv$")
_OWN_YEAR = ("population", "fund_budgets", "phs_weights")  # known at the start of their year
LATE_SHARE = 0.125


def _next_month(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def _files(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.rglob("*") if p.is_file() and p.name != CALENDAR and not p.name.startswith("."))


def _halve(path: Path) -> int:
    """Keep the header and every second data row of a UTF-8 CSV (no embedded newlines); rows kept."""
    lines = path.read_bytes().splitlines(keepends=True)
    kept = [lines[0]] + [ln for i, ln in enumerate(lines[1:]) if i % 2 == 0]
    path.write_bytes(b"".join(kept))
    return len(kept) - 1


def write_calendar(inbox: Path, seed: int = 42) -> dict:
    inbox = Path(inbox)
    rng = random.Random(seed * 7919 + 11)
    files = _files(inbox)
    months = sorted({m.group(1) + "-" + m.group(2) for p in files if (m := _MONTH.search(p.name))})
    if not months:
        raise ValueError(f"{inbox}: no monthly files to build a delivery calendar from")
    first = dt.date(int(months[0][:4]), int(months[0][5:]), 1)
    # a UTF-8 CSV county file, for the missing month and the outlier (not the first half-year:
    # the expectations need 6 earlier months of history)
    enc = sorted((m.group(1), m.group(2), p) for p in files if (m := _ENC.match(p.name)))
    counties = sorted({c for _, c, _ in enc})
    usable = [e for e in enc if e[0] >= months[min(6, len(months) - 1)] and _is_utf8(e[2])]
    missing = outlier = None
    if len(usable) >= 2 and len(counties) >= 2:
        late_months = sorted({m for m, _, _ in usable})
        miss_month = late_months[len(late_months) // 2]
        out_month = late_months[min(len(late_months) - 1, len(late_months) * 3 // 4)]

        # the largest files: counties of the city (insured areas outside it send a handful of rows)
        def by_size(month: str, other_than: str | None = None) -> list:
            es = [e for e in usable if e[0] == month and e[1] != other_than]
            return sorted(es, key=lambda e: e[2].stat().st_size, reverse=True)

        missing = by_size(miss_month)[0]
        outlier = (by_size(out_month, missing[1]) or by_size(out_month))[0]
    deliveries = []
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for p in files:
        rel = str(p.relative_to(inbox))
        note = "on time"
        m, y = _MONTH.search(p.name), _YEAR.search(p.name)
        if missing and p == missing[2]:
            continue
        if m:
            ny, nm = _next_month(int(m.group(1)), int(m.group(2)))
            late = rng.random() < LATE_SHARE
            day = rng.randint(12, 26) if late else rng.randint(2, 9)
            when = dt.datetime(ny, nm, day, 9, 0)
            note = "late" if late else "on time"
        elif y:
            year = int(y.group(1))
            own = p.parent.name in _OWN_YEAR or p.name.startswith(_OWN_YEAR)
            when = dt.datetime(year if own else year + 1, 1, 20, 9, 0)
            if own and when.date() < first:
                when = dt.datetime(first.year, first.month, 1, 9, 0)
        else:  # registries and other snapshots: before the first activity
            when = dt.datetime(first.year, first.month, 1, 8, 0)
        if when > now:
            when = now.replace(microsecond=0)
        if outlier and p == outlier[2]:
            rows = _halve(p)
            note = f"outlier volume: half its rows ({rows:,} kept)"
        deliveries.append({"path": rel, "received_at": when.isoformat(sep=" "), "note": note})
    if missing:
        missing[2].unlink()
    cal = {
        "deliveries": sorted(deliveries, key=lambda d: (d["received_at"], d["path"])),
        "missing": [str(missing[2].relative_to(inbox))] if missing else [],
        "outlier": str(outlier[2].relative_to(inbox)) if outlier else None,
    }
    (inbox / CALENDAR).write_text(json.dumps(cal, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return cal


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes()[:65536].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return path.read_bytes()[:3] != b"\xef\xbb\xbf"


def arrivals(inbox: Path) -> dict[Path, dt.datetime]:
    """{file: arrival} of the calendar's files that exist (resolved paths), for `ingest_paths`."""
    cal = json.loads((Path(inbox) / CALENDAR).read_text(encoding="utf-8"))
    out = {}
    for d in cal["deliveries"]:
        p = (Path(inbox) / d["path"]).resolve()
        if p.exists():
            out[p] = dt.datetime.fromisoformat(d["received_at"])
    return out
