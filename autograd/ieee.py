"""IEEE float64 arithmetic: Python's floats raise, and NumPy warns, where IEEE gives inf or nan.

`divide(1.0, 0.0)` is inf, `power(-8.0, 1/3)` is nan, `exp(1000.0)` is inf, `log(0.0)` is -inf,
as in NumPy and PyTorch, so no exception ever comes out of the math of `autograd.ops`; and inside
`quiet()` a batch's arrays give the same results without NumPy's warnings.
"""

from __future__ import annotations

import functools
import math
import operator
import sys
from contextlib import nullcontext
from typing import Any

INF, NAN = math.inf, math.nan


def divide(a: float, b: float) -> float:
    """a / b with IEEE results: 1/0 = inf, -1/0 = -inf, 0/0 = nan."""
    try:
        return a / b
    except ZeroDivisionError:
        return NAN if a == 0.0 or a != a else math.copysign(INF, a) * math.copysign(1.0, b)


def power(x: float, y: float) -> float:
    """x ** y as C's pow: never complex, never an exception."""
    try:
        return math.pow(x, y)
    except (OverflowError, ValueError) as error:
        if y == -INF:  # (+-0.0) ** -inf: inf, as C's pow and Python from 3.11 give (3.10 raises)
            return INF
        odd = y == int(y) and int(y) % 2 == 1  # (y is finite here)
        if isinstance(error, OverflowError):
            return -INF if x < 0 and odd else INF
        if x == 0.0 and y < 0:  # 0 ** negative; else a negative base, fractional exponent
            return math.copysign(INF, x) if odd else INF
        return NAN


def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def log(x: float) -> float:
    return math.log(x) if x > 0.0 else (-INF if x == 0.0 else NAN)


if sys.version_info >= (3, 12):  # from 3.12, sum() of floats compensates its roundings

    def chain_sum(values: Any, start: Any = 0.0) -> Any:
        """start + v_1 + v_2 + ...: added left to right, each sum rounded, as a chain of `+`."""
        return functools.reduce(operator.add, values, start)

else:  # sum() adds left to right, rounding each sum (its loop in C: quicker than reduce)
    chain_sum = sum


def quiet() -> Any:
    """Inside, NumPy gives IEEE results (inf, nan) without warnings, as plain floats do: what
    `np.errstate(all="ignore")` does, entered for about a tenth of its cost where NumPy keeps
    its error state in a context variable (NumPy 2), else `np.errstate` itself."""
    global _quiet
    if _quiet is None:
        np = sys.modules.get("numpy")  # (no NumPy yet: no arrays, nothing to quiet)
        if np is None:
            return nullcontext()
        _quiet = _ignoring(np)
    return _quiet()


def _ignoring(np: Any) -> Any:
    try:
        from numpy._core._ufunc_config import (  # type: ignore[attr-defined]
            _extobj_contextvar,
            _make_extobj,
        )

        ignore = _make_extobj(all="ignore")
    except (ImportError, AttributeError, TypeError):  # another NumPy: its public way
        return lambda: np.errstate(all="ignore")

    class Quiet:
        __slots__ = ("token",)

        def __enter__(self) -> None:  # (already quiet, as inside a training step: nothing)
            quiet = _extobj_contextvar.get() is ignore
            self.token = None if quiet else _extobj_contextvar.set(ignore)

        def __exit__(self, *exc: Any) -> None:
            if self.token is not None:
                _extobj_contextvar.reset(self.token)

    return Quiet


_quiet: Any = None


def power_of_arrays(x: Any, y: Any) -> Any:
    """NumPy's power, with C's pow at 0 and infinity too (NumPy's shortcuts give sqrt(-0.0) =
    -0.0 and sqrt(-inf) = nan where pow gives 0.0 and inf): a batch of one is the scalar."""
    np = sys.modules["numpy"]
    out = np.power(x, y)
    x, y = np.broadcast_arrays(x, y)  # (a scalar base and a batch of exponents: 0 ** y)
    odd = ~np.isfinite(x) | (x == 0.0)
    if odd.any():
        out = np.array(out, dtype=float)
        out[odd] = [power(a, b) for a, b in zip(x[odd].tolist(), y[odd].tolist())]
    return out
