"""How a KPI value is written, one way for every output (dashboard, XLSX, report, bulletin PDF)."""

from __future__ import annotations

import math


def isnum(v) -> bool:
    """A finite-or-infinite number: False for None, NaN, pd.NA / NaT and anything not numeric."""
    if v is None:
        return False
    try:
        return not math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def fmt_value(v, unit: str | None, lang: str = "zh") -> str:
    """A value as the scorecard shows it: 84.1%, 1,234, ¥12,345, 4.30‰, 12.3/10万."""
    if not isnum(v):
        return "—"
    v = float(v)
    if unit == "fraction":
        return f"{v * 100:.1f}%"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "yuan":
        return f"¥{v:,.0f}"
    if unit == "per_mille":
        return f"{v:.2f}‰"
    if unit == "per_100k":
        return f"{v:.1f}/10万" if lang == "zh" else f"{v:.1f}/100k"
    return f"{v:,.2f}"
