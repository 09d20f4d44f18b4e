"""Vectorised identifier strings: fixed-width digit codes and resident ID numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def digit_strings(values: np.ndarray, width: int, prefix: str = "") -> pa.Array:
    """Zero-padded decimal strings of `width` digits (leading zeros kept), with a prefix."""
    arr = pc.utf8_lpad(pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string()), width=width, padding="0")
    if prefix:
        arr = pc.binary_join_element_wise(pa.scalar(prefix), arr, "")
    return arr


def resident_ids(area: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> pa.Array:
    """18-digit resident ID numbers (GB 11643 layout with a valid check character)."""
    body = np.asarray(area, np.int64) * 10**11 + np.asarray(birth_yyyymmdd, np.int64) * 1000 + np.asarray(seq, np.int64)
    text = digit_strings(body, 17)
    n = len(text)
    digits = np.frombuffer(text.buffers()[2], dtype=np.uint8)[: n * 17].reshape(n, 17).astype(np.int32) - 48
    check = (digits @ _ID_WEIGHTS.astype(np.int32)) % 11
    check_char = pc.take(pa.array(list("10X98765432")), pa.array(check))
    return pc.binary_join_element_wise(text, check_char, "")


def old_resident_ids(area: np.ndarray, birth_yymmdd: np.ndarray, seq: np.ndarray) -> pa.Array:
    """15-digit (first generation) resident ID numbers."""
    body = np.asarray(area, np.int64) * 10**9 + np.asarray(birth_yymmdd, np.int64) * 1000 + np.asarray(seq, np.int64)
    return digit_strings(body, 15)
