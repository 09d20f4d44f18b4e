"""Plain-words verdict lines (stdout) and progress (the ingest step of medcom.progress)."""

from __future__ import annotations

import time

from medcom import progress

VERDICT_WORDS = {
    "accepted": "accepted",
    "accepted_with_quarantine": "accepted with quarantine",
    "rejected": "REJECTED",
    "duplicate": "duplicate",
}


def n(x: int) -> str:
    return f"{x:,}"


def verdict_line(outcome) -> str:
    word = VERDICT_WORDS[outcome.verdict]
    name = outcome.display_name
    if outcome.verdict == "accepted":
        return f"{word:<25} {name}  {n(outcome.rows_loaded)} rows"
    if outcome.verdict == "accepted_with_quarantine":
        first = "; ".join(outcome.first_reasons[:3])
        return f"{word:<25} {name}  {n(outcome.rows_loaded)} loaded, {n(outcome.rows_quarantined)} quarantined" + (
            f" (first reasons: {first})" if first else ""
        )
    if outcome.verdict == "duplicate":
        return f"{word:<25} {name}  {outcome.reasons}"
    return f"{word:<25} {name}  {outcome.reasons}"


class Progress:
    """Rows-read progress of a long file: the note beside the ingest bar (at most once a second)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last = time.monotonic()  # first note after a second: short files stay quiet
        self.shown = False

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last >= 1.0:
            self.last = now
            self.shown = True
            progress.note(f"reading {self.name}: {n(rows)} rows")


def summary_line(outcomes, elapsed: float) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    loaded = sum(o.rows_loaded for o in outcomes)
    quarantined = sum(o.rows_quarantined for o in outcomes)
    parts = [f"{counts.get(k, 0)} {VERDICT_WORDS[k].lower()}" for k in VERDICT_WORDS if counts.get(k)]
    return (
        f"{len(outcomes)} file(s): "
        + (", ".join(parts) or "none")
        + f"; {n(loaded)} rows loaded, {n(quarantined)} quarantined in {elapsed:.1f}s"
    )
