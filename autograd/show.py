"""How numbers are printed by the tools that show the work (steps, explain, pictures, the CLI)."""

from __future__ import annotations

import math
import numbers
from typing import Any


def show(x: Any) -> str:
    """A short, readable number: 4 decimals, or 4 significant digits when tiny or huge; a batch
    shows its first four entries."""
    if type(x) is not float:
        if not isinstance(x, numbers.Real):
            if getattr(x, "ndim", 1) == 2:  # a matrix: its shape and first rows
                rows = ", ".join(show(row) for row in x[:2])
                more = ", ..." if len(x) > 2 else ""
                return f"{x.shape[0]}x{x.shape[1]} [{rows}{more}]"
            return (
                "[" + ", ".join(show(float(v)) for v in x[:4]) + (", ...]" if len(x) > 4 else "]")
            )
        x = float(x)
    if x == 0.0:
        return "0.0"  # -0.0 too: a student reads a zero
    if x != x or x in (math.inf, -math.inf):
        return repr(x)
    if 1e-4 <= abs(x) < 1e6:
        return repr(round(x, 4))
    return f"{x:.4g}"


def arithmetic(factors: list, result: Any) -> str:
    """`a * b = r` as shown, with `=` only where the shown numbers are the numbers (so that a
    student who multiplies them by hand gets the shown result), else `≈`."""
    sign = "=" if all(map(_exact, (*factors, result))) else "≈"
    return " * ".join(map(show, factors)) + f" {sign} {show(result)}"


def _exact(x: Any) -> bool:
    if type(x) is not float:
        return not isinstance(x, numbers.Real) or float(show(x)) == x
    return x != x or float(show(x)) == x
