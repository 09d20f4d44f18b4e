"""Synthetic feeds for the default city (Xuchang), or a province of several Henan cities:
`medcom generate`."""

from __future__ import annotations

from pathlib import Path


def generate(
    out: Path,
    *,
    start: str = "2020-01",
    months: int = 24,
    scale: float = 0.05,
    seed: int = 42,
    bad_corpus: bool = False,
    quiet: bool = False,
    cities: int = 1,
) -> dict:
    """Write the synthetic city — or, with cities > 1, a province of that many Henan
    prefectures (许昌市 first) — or, with bad_corpus, the bad-input corpus into `out`."""
    _check_args(start, months, scale)
    _check_cities(cities, bad_corpus)
    import contextlib

    from medcom import progress

    with progress.step("generate", unit="files") if not quiet else contextlib.nullcontext():
        if bad_corpus:
            from medcom.generate.corpus import write_corpus

            return write_corpus(Path(out), start=start, months=months, scale=scale, seed=seed, quiet=quiet)
        from medcom.generate.feeds import write_city

        return write_city(Path(out), start=start, months=months, scale=scale, seed=seed, quiet=quiet, cities=cities)


def _check_cities(cities: int, bad_corpus: bool) -> None:
    from medcom.errors import UsageError
    from medcom.generate.geography import max_cities

    if not 1 <= cities <= max_cities():
        raise UsageError(f"--cities must be between 1 and {max_cities()} (Henan's prefectures), not {cities}")
    if bad_corpus and cities != 1:
        raise UsageError("--bad-corpus writes the single-city corpus: leave --cities at 1")


def _check_args(start: str, months: int, scale: float) -> None:
    import re

    from medcom.errors import UsageError

    m = re.fullmatch(r"(\d{4})-(\d{2})", str(start))
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2015:
        raise UsageError(f"--start must be a month YYYY-MM from 2015-01 on, not {start!r}")
    if months < 1:
        raise UsageError("--months must be at least 1")
    if not scale > 0:
        raise UsageError("--scale must be positive")
