"""Independent, reproducible random streams: one per (seed, purpose, ...) key."""

from __future__ import annotations

import hashlib

import numpy as np


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A generator that depends only on the seed and the key (stable across runs/platforms)."""
    digest = hashlib.sha256(("\x1f".join([str(seed), *map(str, key)])).encode("utf-8")).digest()
    return np.random.default_rng(np.frombuffer(digest[:16], dtype=np.uint32))
