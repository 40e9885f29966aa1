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
            return (
                "[" + ", ".join(show(float(v)) for v in x[:4]) + (", ...]" if len(x) > 4 else "]")
            )
        x = float(x)
    if x != x or x in (math.inf, -math.inf) or x == 0.0:
        return repr(x)
    if 1e-4 <= abs(x) < 1e6:
        return repr(round(x, 4))
    return f"{x:.4g}"
