"""Synthetic feeds for the default city (Xuchang): `medcom generate`."""

from __future__ import annotations

from pathlib import Path


def generate(out: Path, *, start: str = "2020-01", months: int = 24, scale: float = 0.05, seed: int = 42,
             bad_corpus: bool = False, quiet: bool = False) -> dict:
    """Write the synthetic city (or, with bad_corpus, the bad-input corpus) into `out`."""
    if bad_corpus:
        from medcom.generate.corpus import write_corpus

        return write_corpus(Path(out), start=start, months=months, scale=scale, seed=seed, quiet=quiet)
    from medcom.generate.feeds import write_city

    return write_city(Path(out), start=start, months=months, scale=scale, seed=seed, quiet=quiet)
