"""What a `Value` holds: a float, or a float array (a batch, one entry per sample, or a matrix).

One rule, `as_data`, for `Value(data)` and for data you assign yourself (`value.data = x`),
which is settled by it when an operation first reads it (`settled`).
"""

from __future__ import annotations

import numbers
import sys
from typing import Any

from .ops import use_numpy


def as_data(data: Any) -> Any:
    """`Value(data)`'s data: a float, or a read-only float copy of an array: 1-D (one entry per
    sample) or 2-D (a layer's matrix). Anything else is a clear error naming what it got."""
    if type(data) is float:
        return data
    if isinstance(data, numbers.Real):
        try:
            return float(data)
        except OverflowError:  # an int beyond float64's range
            raise ValueError(
                f"numbers in a graph are float64, and this {type(data).__name__} of "
                f"{abs(int(data)).bit_length()} bits is beyond its range "  # type: ignore[call-overload]
                "(2**1024, about 1.8e308)"
            ) from None
    if type(data).__name__ == "ndarray":
        if data.ndim == 0 and data.dtype.kind in "biuf":  # one number, as an array: the number
            return as_data(data.item())
        if data.ndim not in (1, 2) or data.dtype.kind not in "biuf":
            raise TypeError(
                "Value(data) takes a 1-D array of real numbers (one per sample) or a 2-D one "
                f"(a layer's matrix), got a {data.ndim}-D array of {data.dtype}"
            )
        if data.size == 0:
            raise ValueError(f"Value(data) got an empty array of shape {data.shape}")
        # A read-only copy of its own: nodes share batched arrays, so none changes in place.
        array = use_numpy().array(data, dtype=float)
        array.flags.writeable = False
        return array
    hint = "; use the Value itself" if type(data).__name__ == "Value" else ""
    raise TypeError(
        f"Value(data) needs a real number, got {data!r:.40} ({type(data).__name__}){hint}"
    )


def settled(nodes: Any) -> list:
    """The nodes' data by the same rule: data you assigned yourself (`value.data = x`) is
    checked, and an array copied read-only, when an operation first reads it. Returns it."""
    global _ndarray
    if _ndarray is None and "numpy" in sys.modules:
        _ndarray = sys.modules["numpy"].ndarray
    out = []
    for node in nodes:
        x = node.data
        if type(x) is not float and (type(x) is not _ndarray or x.flags.writeable):
            x = node.data = as_data(x)
        out.append(x)
    return out


_ndarray: Any = None  # NumPy's array type, once NumPy is imported


def numbers_in(x: Any) -> Any:
    """`x` (a number, a list, nested lists or an array) as a float array, a Value among its
    entries read as its number: `np.asarray(x, dtype=float)` calls `float()` on each, which a
    Value refuses (a number it gave would be out of the graph), so it is read where asked."""
    np = use_numpy()
    try:
        return np.asarray(x, dtype=float)
    except TypeError:
        return np.vectorize(_number_of, otypes=[float])(np.asarray(x, dtype=object))


def _number_of(x: Any) -> Any:
    if isinstance(x, numbers.Real):
        return x
    data = getattr(x, "data", None)
    if not isinstance(data, numbers.Real):
        held = f" holding {type(data).__name__}" if data is not None else ""
        raise TypeError(f"expected numbers (or Values of one number), got {type(x).__name__}{held}")
    return data
