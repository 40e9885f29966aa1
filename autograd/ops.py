"""The table of operations: each row, an operation's value and its local derivatives side by side.

The one place that knows a derivative. A row's `compute(*data)` returns the output and d out/d
operand for each operand, as numbers; its formulas write the same derivatives for `explain`, the
step-through and the pictures. IEEE float64 throughout (`autograd.ieee`): 1/0 is inf, log(-1) nan.
Data is a float, or a NumPy array (a batch, or a layer's matrix; NumPy is imported with the
first array). Rows made elsewhere (the neuron and the layer of `autograd.layers`, the GPT's rows,
your own `autograd.define`) join the table through `register`.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from typing import Any

from .ieee import chain_sum, divide, exp, log, power, power_of_arrays

np: Any = None  # NumPy, once `use_numpy()` has imported it


def use_numpy() -> Any:
    """Import NumPy on first need and return it (the scalar engine never imports it)."""
    global np
    if np is None:
        import numpy as np
    return np


def _div(a, b):
    """d/da = 1/b; d/db = -a/b**2, written -(a/b)/b: right wherever it is representable (b*b
    alone overflows for |b| > 1e154 and underflows for |b| < 1e-162)."""
    if type(a) is float and type(b) is float:
        out = divide(a, b)
        return out, (divide(1.0, b), divide(-out, b))
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)  # (1.0 / 0.0 raises)
    out = a / b
    return out, (1.0 / b, -out / b)


def _pow(x, y):
    """d/dx = y x**(y-1); d/dy = x**y log(x), 0 at x == 0 with y >= 0 (the limit, as PyTorch)."""
    if type(x) is float and type(y) is float:
        out = power(x, y)
        return out, (_pow_slope(x, y, out), 0.0 if x == 0.0 and y >= 0.0 else out * log(x))
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = power_of_arrays(x, y)
    return out, (_pow_slope(x, y, out), np.where((x == 0.0) & (y >= 0.0), 0.0, out * np.log(x)))


def _pow_slope(x, y, out):
    """y x**(y-1) by C's pow as PyTorch ((-1)**inf: inf); y x**y/x if only x**(y-1) overflows"""
    if type(x) is float and type(y) is float:
        slope = 0.0 if y == 0.0 else y * power(x, y - 1.0)
        alone = math.isinf(slope) and math.isfinite(out) and out != 0.0
        return divide(y * out, x) if alone and math.isfinite(x) and math.isfinite(y) else slope
    slope = np.where(y == 0.0, 0.0, y * power_of_arrays(x, y - 1.0))
    alone = np.isinf(slope) & np.isfinite(out) & (out != 0.0) & np.isfinite(x) & np.isfinite(y)
    return np.where(alone, y * out / x, slope) if alone.any() else slope


def _exp(x):
    out = exp(x) if type(x) is float else np.exp(x)
    return out, (out,)


def _log(x):
    return (log(x), (divide(1.0, x),)) if type(x) is float else (np.log(x), (1.0 / x,))


def tanh_slope(x):
    """1 - tanh(x)**2 as 4e / (1 + e)**2, e = exp(-2|x|): exact where 1 - tanh**2 cancels to 0."""
    e = math.exp(-2.0 * abs(x)) if type(x) is float else np.exp(-2.0 * np.abs(x))
    d = 1.0 + e
    return 4.0 * e / (d * d)


def _tanh(x):
    return (math.tanh(x) if type(x) is float else np.tanh(x)), (tanh_slope(x),)


def _sigmoid(x):
    """s = 1 / (1 + e) for x >= 0, e / (1 + e) below, with e = exp(-|x|) (exp of a non-positive
    number only, so it never overflows), and s (1 - s) as e / (1 + e)**2: exact and symmetric
    for every finite x. e and 1 + e are computed once for both."""
    scalar = type(x) is float
    e = math.exp(-abs(x)) if scalar else np.exp(-np.abs(x))  # (nan stays nan)
    d = 1.0 + e
    s = (1.0 / d if x >= 0.0 else e / d) if scalar else np.where(x >= 0, 1.0, e) / d
    return s, (e / (d * d),)


def _relu(x):
    if type(x) is float:
        return (x, (1.0,)) if x > 0.0 else ((x if x != x else 0.0), (0.0,))
    return np.maximum(x, 0.0), ((x > 0.0).astype(float),)


def _abs(x):
    """d/dx = sign(x): 0 at 0, nan at nan."""
    if type(x) is float:
        return abs(x), (0.0 if x == 0.0 else math.copysign(1.0, x) if x == x else x,)
    return np.abs(x), (np.sign(x),)


def _batch_mean(x):
    """The mean of every entry (a batch's, or a layer's samples x outputs): d/dx_k = 1/N."""
    return float(x.mean()), (np.full_like(x, 1.0 / x.size),)


@dataclass(frozen=True)
class Operation:
    """One row: its name (a node's `op`), `compute(*data) -> (out, local derivatives)`, and
    `expression(names)` / `derivative(i, names)`, the node and d out/d operand_i written in
    its operands' names."""

    name: str
    expression: Callable[[list[str]], str]
    derivative: Callable[[int, list[str]], str]
    compute: Callable[..., tuple[Any, tuple]]


def _row(name: str, compute: Callable, expression: str, *derivatives: str) -> Operation:
    """A row whose formulas are templates in the operands' names `{0}`, `{1}`."""
    write = lambda names: expression.format(*names)
    return Operation(name, write, lambda i, names: derivatives[i].format(*names), compute)


OPERATIONS: dict[str, Operation] = {}


def register(row: Operation) -> Operation:
    """Add a row to the table (a name already there is an error: one place for each rule)."""
    if row.name in OPERATIONS:
        raise ValueError(f"the table of operations already has a row named {row.name!r}")
    OPERATIONS[row.name] = row
    return row


for _op in [
    _row("+", lambda a, b: (a + b, (1.0, 1.0)), "{0} + {1}", "1", "1"),
    _row("-", lambda a, b: (a - b, (1.0, -1.0)), "{0} - {1}", "1", "-1"),
    _row("*", lambda a, b: (a * b, (b, a)), "{0} * {1}", "{1}", "{0}"),
    _row("/", _div, "{0} / {1}", "1/{1}", "-{0}/{1}^2"),
    _row("neg", lambda a: (-a, (-1.0,)), "-{0}", "-1"),
    _row("**", _pow, "{0} ** {1}", "{1} * {0}^({1} - 1)", "{0}^{1} * log({0})"),
    _row("exp", _exp, "exp({0})", "exp({0})"),
    _row("log", _log, "log({0})", "1/{0}"),
    _row("tanh", _tanh, "tanh({0})", "1 - tanh({0})^2"),
    _row("sigmoid", _sigmoid, "sigmoid({0})", "sigmoid({0}) * (1 - sigmoid({0}))"),
    _row("relu", _relu, "relu({0})", "(1 if {0} > 0 else 0)"),
    _row("abs", _abs, "abs({0})", "sign({0})"),
    _row("batch_sum", lambda x: (float(x.sum()), (np.ones_like(x),)), "sum of entries of {0}", "1"),
    _row("batch_mean", _batch_mean, "mean of entries of {0}", "1/N (N entries)"),
    # n-ary: added left to right, as the chain of + adds them; x + x is exactly 2x
    Operation(
        "sum", " + ".join, lambda i, names: "1", lambda *xs: (chain_sum(xs, 0.0), (1.0,) * len(xs))
    ),
    Operation(
        "sum_of_squares",
        lambda names: " + ".join(f"{name}^2" for name in names),
        lambda i, names: f"2 * {names[i]}",
        lambda *xs: (chain_sum(map(mul, xs, xs), 0.0), tuple([x + x for x in xs])),
    ),
]:
    register(_op)


@lru_cache(maxsize=256)
def power_operation(n: float) -> Operation:
    """The row for x ** n with a constant n (one parent, op '**n'): d/dx = n x**(n-1)."""

    def compute(x):
        out = power(x, n) if type(x) is float else power_of_arrays(x, n)
        return out, (_pow_slope(x, n, out),)

    shown = _number(n)
    slope = {0.0: "0", 1.0: "1", 2.0: "2 * {0}"}.get(n, shown + " * {0}^" + _number(n - 1))
    return _row(f"**{shown}", compute, "{0}**" + shown, slope)


def _number(n: float) -> str:
    return str(int(n)) if abs(n) < 1e15 and n == int(n) else repr(n)


def operation(op: str) -> Operation:
    """The row for a node's `op` (a constant power `**n` is made on demand)."""
    row = OPERATIONS.get(op)
    if row is not None:
        return row
    if op.startswith("**"):
        return power_operation(float(op[2:]))
    raise KeyError(f"no operation named {op!r}")
