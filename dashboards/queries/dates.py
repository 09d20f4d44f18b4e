"""Month arithmetic and parsing shared by the query modules and pages."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pandas as pd


def as_date(v) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return pd.Timestamp(v).date()


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def month_end(d: date) -> date:
    return next_month(d) - timedelta(days=1)


def parse_month(text: str | None) -> date | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})-?(\d{2})(?:-\d{2})?", text.strip())
    if not m:
        return None
    y, mm = int(m.group(1)), int(m.group(2))
    return date(y, mm, 1) if 1 <= mm <= 12 else None
