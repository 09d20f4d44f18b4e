"""Vectorised identifier strings: fixed-width digit codes and resident ID numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def _digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    pows = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((v[:, None] // pows) % 10).astype(np.uint8)


def _bytes_to_strings(mat: np.ndarray) -> pa.Array:
    width = mat.shape[1]
    flat = np.ascontiguousarray(mat, dtype=np.uint8).view(f"S{width}").ravel()
    return pa.array(flat, type=pa.binary(width)).cast(pa.binary()).cast(pa.string())


def digit_strings(values: np.ndarray, width: int, prefix: str = "") -> pa.Array:
    """Zero-padded decimal strings of `width` digits (leading zeros kept), with a prefix."""
    arr = _bytes_to_strings(_digit_matrix(values, width) + 48)
    if prefix:
        arr = pc.binary_join_element_wise(pa.scalar(prefix), arr, "")
    return arr


def resident_ids(area: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> pa.Array:
    """18-digit resident ID numbers (GB 11643 layout with a valid check character)."""
    body = (np.asarray(area, np.int64) * 10**11 + np.asarray(birth_yyyymmdd, np.int64) * 1000
            + np.asarray(seq, np.int64))
    d = _digit_matrix(body, 17)
    check = _ID_CHECK[(d.astype(np.int64) @ _ID_WEIGHTS) % 11]
    mat = np.concatenate([d + 48, check[:, None]], axis=1)
    return _bytes_to_strings(mat)


def old_resident_ids(area: np.ndarray, birth_yymmdd: np.ndarray, seq: np.ndarray) -> pa.Array:
    """15-digit (first generation) resident ID numbers."""
    body = np.asarray(area, np.int64) * 10**9 + np.asarray(birth_yymmdd, np.int64) * 1000 + np.asarray(seq, np.int64)
    return digit_strings(body, 15)
