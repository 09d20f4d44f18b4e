"""Write expectations/suites/<feed>.json for every feed with batch-level expectations:
`python -m expectations.export`.

The suites are derived from the feed contract (`batch:`) and expectations/batch.py
(`expectations.suites.suite_json`, default thresholds); tests/test_expectations.py fails
when a file is out of date. `--check` only compares and exits 1 when a file differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from expectations.suites import dumps, feeds_with_suites, suite_json

SUITES_DIR = Path(__file__).resolve().parent / "suites"


def rendered() -> dict[str, str]:
    """{file name: JSON text} for every feed with batch-level expectations, in load order."""
    return {f"{feed}.json": dumps(suite_json(feed)) for feed in feeds_with_suites()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check_only = "--check" in argv
    SUITES_DIR.mkdir(exist_ok=True)
    want = rendered()
    stale = [p.name for p in SUITES_DIR.glob("*.json") if p.name not in want]
    changed = [
        name
        for name, text in want.items()
        if not (SUITES_DIR / name).exists() or (SUITES_DIR / name).read_text(encoding="utf-8") != text
    ]
    if check_only:
        for name in changed + stale:
            print(f"out of date: expectations/suites/{name}")
        return 1 if changed or stale else 0
    for name in changed:
        (SUITES_DIR / name).write_text(want[name], encoding="utf-8")
        print(f"wrote expectations/suites/{name}")
    for name in stale:
        (SUITES_DIR / name).unlink()
        print(f"removed expectations/suites/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
