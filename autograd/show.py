"""How numbers are printed by the tools that show the work (steps, explain, pictures, the CLI).

`show(x)`: 4 decimals, or 4 significant digits when tiny or huge. `arithmetic(factors, result)`:
a product written so that it checks by hand. It says `=` only where the shown factors,
multiplied out exactly, give the shown result (to the result's last shown digit):

    0.49998 * -3.0 = -1.49994      (not 0.5 * -3.0 = -1.4999: each factor gets the digits it
                                     needs, up to 12)
    0.5 * 2.0 = 1.0                (0.49998 * 1.99999 = 0.99995..., 1.0 to 4 decimals)

and `≈` only where no such digits exist: a batch of more than four samples (its entries are
elided), or a product no 12 digits make check (one rounded to a subnormal float, 1e-321).
"""

from __future__ import annotations

import math
import numbers
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

MAX_DIGITS = 12  # the most digits a factor gets for its product to check by hand
SHOWN_ENTRIES = 4  # a batch shows its first four entries


def show(x: Any, digits: int = 4) -> str:
    """A short, readable number: `digits` decimals, or `digits` significant digits when tiny
    (below 1e-4) or huge (1e6 and up); a batch shows its first four entries."""
    if type(x) is not float:
        if getattr(x, "ndim", 1) == 2:  # a matrix (a layer's): its shape and first rows
            rows = ", ".join(show(row, digits) for row in x[:2])
            return f"{x.shape[0]}x{x.shape[1]} [{rows}{', ...' if len(x) > 2 else ''}]"
        if not isinstance(x, numbers.Real) and not hasattr(x, "__len__"):
            return repr(x)  # a rule (a layer's local derivative): its formula
        if not isinstance(x, numbers.Real):
            entries = [show(float(v), digits) for v in x[:SHOWN_ENTRIES]]
            return "[" + ", ".join(entries) + (", ...]" if len(x) > SHOWN_ENTRIES else "]")
        x = float(x)
    return _rounded(x, digits)[0]


def _rounded(x: float, digits: int) -> tuple[str, Decimal | None, Decimal | None]:
    """(text, the decimal the text means, the unit of its last digit): `x` rounded half to
    even from its exact binary value, written as Python's repr(round(x, digits)) writes a
    mid-sized number and as format(x, f".{digits}g") a tiny or huge one. No decimal for a
    zero of either sign (shown 0.0: a student reads a zero), inf and nan."""
    if x == 0.0:
        return "0.0", Decimal(0), None
    if x != x or x in (math.inf, -math.inf):
        return repr(x), None, None
    exact = Decimal(x)
    with localcontext() as context:
        context.prec = 400
        if 1e-4 <= abs(x) < 1e6:
            unit = Decimal(1).scaleb(-digits)
            value = exact.quantize(unit, ROUND_HALF_EVEN)
            return _fixed(value, keep_point=True), value, unit
        unit = Decimal(1).scaleb(exact.adjusted() - digits + 1)
        value = exact.quantize(unit, ROUND_HALF_EVEN)
        if value.adjusted() != exact.adjusted():  # rounded up to the next power of ten
            unit = unit.scaleb(1)
            value = value.quantize(unit, ROUND_HALF_EVEN)
        power = value.adjusted()
        if -4 <= power < digits:  # as format's g: plain digits in this range
            return _fixed(value, keep_point=False), value, unit
        mantissa = _fixed(value.scaleb(-power), keep_point=False)
        return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}", value, unit


def _fixed(value: Decimal, keep_point: bool) -> str:
    """The decimal in plain digits, trailing zeros dropped (`6.0` with keep_point, else `6`)."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0")
    if text.endswith("."):
        text = text + "0" if keep_point else text[:-1]
    elif "." not in text and keep_point:
        text += ".0"
    return text


def arithmetic(factors: list, result: Any) -> str:
    """`a * b = r` as it checks by hand (see the module's docstring), else `a * b ≈ r`."""
    return product_text(factors, result)[0]


def product_text(factors: list, result: Any) -> tuple[str, int]:
    """`arithmetic`'s text and the digits its result is shown with (for the numbers beside it).

    Factors and the result are numbers, or batches (1-D arrays, entrywise products: every
    shown entry must check, and a batch of more than four is elided, so `≈`)."""
    if any(getattr(x, "ndim", 1) != 1 for x in (*factors, result)):  # matrices, rules
        return " * ".join(map(show, factors)) + f" ≈ {show(result)}", 4
    sizes = {len(x) for x in (*factors, result) if not isinstance(x, numbers.Real)}
    size = max(sizes, default=1)
    elided = size > SHOWN_ENTRIES or len(sizes) > 1
    if not elided and (not sizes or not isinstance(result, numbers.Real)):
        samples = [[_entry(x, k) for x in (*factors, result)] for k in range(size)]
        for digits in range(4, MAX_DIGITS + 1):
            checked = [_check_at(row[:-1], row[-1], digits) for row in samples]
            rows = [row for row in checked if row is not None]
            if len(rows) == len(checked):
                return _written(factors, result, rows), max(row[2] for row in rows)
    return " * ".join(map(show, factors)) + f" ≈ {show(result)}", 4


def _entry(x: Any, k: int) -> float:
    return float(x) if isinstance(x, numbers.Real) else float(x[k])


def _written(factors: list, result: Any, rows: list) -> str:
    """The checked product, a batch's entries in brackets (a number shown once)."""

    def written(x: Any, texts: list[str]) -> str:
        return texts[0] if isinstance(x, numbers.Real) else "[" + ", ".join(texts) + "]"

    texts = [written(f, [row[0][i] for row in rows]) for i, f in enumerate(factors)]
    return " * ".join(texts) + f" = {written(result, [row[1] for row in rows])}"


def _check_at(factors: list[float], result: float, digits: int) -> tuple | None:
    """The factors with `digits` digits, if their exact product rounds to the result as shown
    with as many digits, or fewer down to 4: (factor texts, result text, result digits)."""
    if not all(map(math.isfinite, (*factors, result))):  # IEEE's: inf * 2 = inf, inf * 0 = nan
        product = math.prod(float(show(f)) for f in factors)
        same = product == result or (product != product and result != result)
        return ([show(f) for f in factors], show(result), 4) if same else None
    rounded = [_rounded(f, digits) for f in factors]
    texts = [text for text, _, _ in rounded]
    with localcontext() as context:
        context.prec = 20000  # exact: factors of at most ~770 digits each
        exact = Decimal(1)
        for _, value, _ in rounded:
            exact *= value  # type: ignore[operator]
        for shown in range(digits, 3, -1):
            text, value, unit = _rounded(result, shown)
            if unit is None:  # a zero result: the product must be zero
                if exact == 0:
                    return texts, text, shown
            elif exact.quantize(unit, ROUND_HALF_EVEN) == value:
                return texts, text, shown
    return None
