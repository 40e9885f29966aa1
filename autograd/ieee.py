"""IEEE float64 arithmetic for plain floats: Python raises where IEEE gives inf or nan.

`divide(1.0, 0.0)` is inf, `power(-8.0, 1/3)` is nan, `exp(1000.0)` is inf, `log(0.0)` is -inf,
as in NumPy and PyTorch, so no exception ever comes out of the math of `autograd.ops`.
"""

from __future__ import annotations

import math

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
    except (OverflowError, ValueError) as error:  # (y is finite here)
        odd = y == int(y) and int(y) % 2 == 1
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
