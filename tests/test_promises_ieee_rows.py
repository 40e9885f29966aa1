"""Every binary row of the table, at integer and float constants, scalar and batched, against
PyTorch's conventions for IEEE corners (issue 22, item 2).

The oracles are written here from the standards, not from the engine:

- C's `pow` (C99 Annex F.10.4.4, the rules PyTorch's `pow` follows), rule by rule;
- PyTorch's derivatives of pow (`derivatives.yaml`): d/dx = y * pow(x, y - 1), 0 where y == 0;
  d/dy = pow(x, y) * log(x), 0 where x == 0 and y >= 0;
- + - * /: the textbook derivatives with IEEE division.

Where the inputs are finite and PyTorch's formula over- or underflows in an intermediate step
(x**(y-1) alone, or b*b in -a/b**2) while the true derivative is a normal float64, the engine
gives the true value (exact fractions / 60-digit decimals here): right wherever representable.
"""

from __future__ import annotations

import itertools
import math
import struct
from decimal import Decimal, InvalidOperation, Overflow, localcontext
from fractions import Fraction

import numpy as np
import pytest

import autograd
from autograd import Value

INF, NAN = math.inf, math.nan
TINY = 2.2250738585072014e-308  # the smallest normal float64
GRID = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 2.5, -0.25]
GRID += [INF, -INF, NAN, 5e-324, -1e-300, 1e-300, 1e300, -1e300, 7.0, 1e-7]


def bits(x: float) -> object:
    """A float by its bits (0.0 and -0.0 differ), every nan alike."""
    x = float(x)
    return "nan" if x != x else struct.pack("<d", x)


def odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and abs(y) < 2.0**53 and int(y) % 2 == 1


def c_pow(x: float, y: float) -> float:
    """C99's pow, special cases in the order of Annex F.10.4.4; else libm's value, overflow to
    a signed infinity and underflow to a signed zero."""
    if x == 1.0 or y == 0.0:
        return 1.0  # even for a nan
    if x != x or y != y:
        return NAN
    if x == 0.0:
        if y < 0.0:
            return math.copysign(INF, x) if odd_integer(y) else INF
        return x if odd_integer(y) else 0.0
    if x == -1.0 and math.isinf(y):
        return 1.0
    if y == -INF:
        return INF if abs(x) < 1.0 else 0.0
    if y == INF:
        return 0.0 if abs(x) < 1.0 else INF
    if x == -INF:
        if y < 0.0:
            return -0.0 if odd_integer(y) else 0.0
        return -INF if odd_integer(y) else INF
    if x == INF:
        return 0.0 if y < 0.0 else INF
    if x < 0.0 and y != math.floor(y):
        return NAN  # a negative base, a fractional exponent
    try:
        return math.pow(x, y)
    except OverflowError:
        return -INF if x < 0.0 and odd_integer(y) else INF


def ieee_log(x: float) -> float:
    if x != x or x < 0.0:
        return NAN
    return -INF if x == 0.0 else (INF if x == INF else math.log(x))


def ieee_div(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


def exact_power_slope(x: float, y: float) -> float | None:
    """y * x**(y-1) to 60 digits for finite x != 0 and y (None where it is not real, or far
    beyond any float)."""
    with localcontext() as context:
        context.prec = 60
        try:
            value = Decimal(y) * Decimal(x) ** (Decimal(y) - 1)
        except (InvalidOperation, Overflow):
            return None
    return float(value)


def pow_oracle(x: float, y: float) -> tuple[float, float, float]:
    """(out, d/dx, d/dy) as PyTorch computes them, with the true d/dx where only PyTorch's
    intermediate x**(y-1) overflows (finite x, y; the true value a normal float)."""
    out = c_pow(x, y)
    dx = 0.0 if y == 0.0 else y * c_pow(x, y - 1.0)
    if math.isinf(dx) and math.isfinite(x) and math.isfinite(y) and x != 0.0:
        true = exact_power_slope(x, y)
        if true is not None and TINY < abs(true) < INF:
            dx = true
    dy = 0.0 if x == 0.0 and y >= 0.0 else out * ieee_log(x)
    return out, dx, dy


def div_oracle(a: float, b: float) -> tuple[float, float, float]:
    """(a/b, 1/b, -a/b**2): the true -a/b**2 for finite a and b != 0 (exact fractions),
    PyTorch's -a / (b*b) at zeros, infinities and nan."""
    out, da = ieee_div(a, b), ieee_div(1.0, b)
    if math.isfinite(a) and math.isfinite(b) and b != 0.0:
        true = -Fraction(a) / (Fraction(b) * Fraction(b))
        db = float(true) if abs(true) < Fraction(2) ** 1024 else math.copysign(INF, -a)
        if a == 0.0:
            db = -a  # -a / b**2 with b**2 > 0: a zero of -a's sign, as PyTorch's
    elif math.isfinite(b) and b != 0.0:  # a is inf or nan; b*b > 0 whatever its size
        db = -a
    else:
        db = ieee_div(-a, b * b)
    return out, da, db


ORACLES = {
    "+": lambda a, b: (a + b, 1.0, 1.0),
    "-": lambda a, b: (a - b, 1.0, -1.0),
    "*": lambda a, b: (a * b, b, a),
    "/": div_oracle,
    "**": pow_oracle,
}
APPLY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def agrees(got: float, want: float, accumulated: bool = False) -> bool:
    """Bit for bit, or within a few units in the last place of a normal want (the true value
    rounded where the engine and the oracle round differently), or subnormal noise.
    `accumulated`: `got` is a leaf's grad (a zero of either sign for a zero derivative)."""
    if accumulated and got == 0.0 and want == 0.0:
        return True  # the sign of a zero grad is the core's to choose (0.0 + -0.0 is 0.0)
    if bits(got) == bits(want):
        return True
    if math.isfinite(want) and math.isfinite(got) and want != 0.0:
        if abs(want) < TINY:
            return abs(got - want) <= 4 * 5e-324
        return math.isclose(got, want, rel_tol=1e-13)
    return False


def as_constant(c: float, kind: str) -> float | int | None:
    """The constant `c` written as a float, or as an int where it is one (None where not)."""
    if kind == "float":
        return c
    if math.isfinite(c) and c == math.floor(c) and abs(c) < 2.0**53:
        return int(c)
    return None


PAIRS = list(itertools.product(GRID, GRID))


@pytest.mark.parametrize("op", list(ORACLES))
def test_scalar_values_and_constants_of_both_kinds_against_the_oracle(op):
    apply, oracle = APPLY[op], ORACLES[op]
    for a, b in PAIRS:
        out, da, db = oracle(a, b)
        x, y = Value(a), Value(b)
        made = apply(x, y)
        made.backward()
        assert agrees(made.data, out), (op, a, b, made.data, out)
        assert agrees(made.local_grads[0], da), (op, a, b, "d/da", made.local_grads, da)
        assert agrees(made.local_grads[1], db), (op, a, b, "d/db", made.local_grads, db)
        assert agrees(x.grad, da, True) and agrees(y.grad, db, True), (op, a, b)
        for kind in ("float", "int"):
            right = as_constant(b, kind)
            if right is not None:  # the Value on the left, a constant on the right
                b_as_float = float(right)
                out_c, da_c, _ = oracle(a, b_as_float)
                x = Value(a)
                made = apply(x, right)
                made.backward()
                assert agrees(made.data, out_c) and agrees(x.grad, da_c, True), (op, a, right, kind)
            left = as_constant(a, kind)
            if left is not None:  # a constant on the left, the Value on the right
                out_c, _, db_c = oracle(float(left), b)
                y = Value(b)
                made = apply(left, y)
                made.backward()
                assert agrees(made.data, out_c) and agrees(y.grad, db_c, True), (op, left, b, kind)


@pytest.mark.parametrize("op", list(ORACLES))
def test_batched_values_and_constants_of_both_kinds_against_the_oracle(op):
    apply, oracle = APPLY[op], ORACLES[op]
    A = np.array([a for a, _ in PAIRS])
    B = np.array([b for _, b in PAIRS])
    want = [oracle(a, b) for a, b in PAIRS]
    x, y = Value(A), Value(B)
    made = apply(x, y)
    made.sum().backward()
    for k, (a, b) in enumerate(PAIRS):
        out, da, db = want[k]
        assert agrees(made.data[k], out), (op, a, b, made.data[k], out)
        assert agrees(x.grad[k], da, True) and agrees(y.grad[k], db, True), (op, a, b)
    for c in GRID:
        column = np.array(GRID)
        for kind in ("float", "int"):
            constant = as_constant(c, kind)
            if constant is None:
                continue
            # a batch on the left, the constant on the right: d/d(left) per sample
            x = Value(column)
            made = apply(x, constant)
            made.sum().backward()
            for k, a in enumerate(GRID):
                out, da, _ = oracle(a, float(constant))
                assert agrees(made.data[k], out) and agrees(x.grad[k], da, True), (op, a, constant)
            # the constant on the left, a batch on the right (0 ** Value(batch), 2 * batch)
            y = Value(column)
            made = apply(constant, y)
            made.sum().backward()
            for k, b in enumerate(GRID):
                out, _, db = oracle(float(constant), b)
                assert agrees(made.data[k], out) and agrees(y.grad[k], db, True), (op, constant, b)


@pytest.mark.parametrize("op", list(ORACLES))
def test_a_scalar_value_against_a_batched_value_keeps_each_samples_local_derivative(op):
    """A scalar operand of a batched node (a weight every sample reads): the node's local
    derivatives are per sample, each the oracle's."""
    apply, oracle = APPLY[op], ORACLES[op]
    column = np.array(GRID)
    for c in GRID:
        for made, scalar_first in (
            (apply(Value(c), Value(column)), True),
            (apply(Value(column), Value(c)), False),
        ):
            for k, v in enumerate(GRID):
                a, b = (c, v) if scalar_first else (v, c)
                out, da, db = oracle(a, b)
                got = [np.broadcast_to(g, column.shape)[k] for g in made.local_grads]
                assert agrees(made.data[k], out), (op, a, b)
                assert agrees(got[0], da) and agrees(got[1], db), (op, a, b, got, (da, db))


@pytest.mark.parametrize("n", [2, 3, -1, -2, 0, 1, 7])
def test_a_constant_power_is_the_same_row_at_int_and_float_exponents(n):
    """x ** 2 and x ** 2.0: one row, the oracle's d/dx, scalar and batched."""
    for data in GRID:
        out, dx, _ = pow_oracle(data, float(n))
        for exponent in (n, float(n)):
            x = Value(data)
            made = x**exponent
            made.backward()
            assert made.op == f"**{n}" and agrees(made.data, out) and agrees(x.grad, dx, True)
    column = np.array(GRID)
    for exponent in (n, float(n)):
        x = Value(column)
        (x**exponent).sum().backward()
        assert all(agrees(g, pow_oracle(d, float(n))[1], True) for g, d in zip(x.grad, GRID))


def test_the_report_examples():
    x = Value(-1.0)
    (x**INF).backward()
    assert x.grad == INF  # PyTorch: inf * pow(-1, inf) = inf * 1
    x = Value(-1.0)
    (x ** Value(-INF)).backward()
    assert x.grad == -INF
    exponent = Value(np.array([1.0, 2.0, -1.0, 0.0]))
    for zero in (0, 0.0):
        made = zero**exponent
        made.sum().backward()
        assert made.data.tolist() == [0.0, 0.0, INF, 1.0]


def test_the_n_ary_rows_take_integer_constants_as_their_floats():
    for values in ([Value(2.0), 3, -1], [Value(np.array([2.0, -1.0])), 3, 0]):
        for row, slope in (
            (autograd.sum, lambda v: 1.0),
            (autograd.sum_of_squares, lambda v: 2 * v),
        ):
            as_floats = [v if isinstance(v, Value) else float(v) for v in values]
            with_ints, with_floats = row(values), row(as_floats)
            assert np.array_equal(with_ints.data, with_floats.data)
            first = values[0]
            first.grad = 0.0
            (with_ints.sum() if with_ints.is_batched else with_ints).backward()
            assert np.array_equal(
                first.grad, np.broadcast_to(slope(first.data), np.shape(first.data))
            )
