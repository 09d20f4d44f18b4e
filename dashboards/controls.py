"""Page controls bound to the URL, and the URL values they show.

A control's id is {'type': 'qp', 'name': <query parameter>}: the app's `_controls` callback writes
its value into the query string, so every choice is a shareable URL.
"""

from __future__ import annotations

from dash import dcc, html

from dashboards.i18n import t


def requested_or_latest(requested, available: list):
    """`requested` if it is one of `available` (oldest first), else the latest of them (None if none)."""
    if requested in available:
        return requested
    return available[-1] if available else None


def year_param(p: dict, years: list[int]) -> int | None:
    """The URL's `year` when there is data for it, else the latest year with data."""
    try:
        year = int(p.get("year", ""))
    except ValueError:
        year = None
    return requested_or_latest(year, years)


def qp(name: str) -> dict:
    return {"type": "qp", "name": name}


def control(label, widget, wide: bool = False):
    """A labelled control of the page's controls bar."""
    return html.Label([label, widget], className="control wide" if wide else "control")


def picker(name: str, value, options: list[dict], class_name: str):
    """A dropdown for query parameter `name` that always has a value and takes no typing."""
    return dcc.Dropdown(
        id=qp(name), value=value, clearable=False, searchable=False, options=options, className=class_name
    )


def year_control(year: int, years: list[int], lang: str):
    options = [{"label": str(y), "value": y} for y in reversed(years)]
    return control(t("year", lang), picker("year", year, options, "year-picker"))


def period_type_control(pt: str, types, lang: str):
    """Radio items for the period type (`pt`): one per type in `types`."""
    return control(
        t("period_type", lang),
        dcc.RadioItems(
            id=qp("pt"),
            value=pt,
            inline=True,
            className="radio",
            options=[{"label": t("pt_" + x, lang), "value": x} for x in types],
        ),
    )
