"""The table of operations: every operation's value and its local derivatives, side by side.

This module is the only place that knows a derivative. Each entry computes, from its operands'
data, the output and the local derivative of the output with respect to each operand; and it
says the same derivatives as readable formulas, which `explain` and the pictures print.

All arithmetic follows IEEE float64, as NumPy and PyTorch do: no Python exception comes out of
the math. `exp(1000)` is `inf`, `log(0)` is `-inf`, `log(-1)` is `nan`, `1/0` is `inf`,
`0/0` is `nan` and `(-8) ** (1/3)` is `nan`, never a complex number.

Operand data is a Python float, or, for a batched value, a 1-D NumPy array with one entry per
sample; every operation works elementwise on arrays. NumPy is imported only when the first
array arrives (`use_numpy`), so the scalar engine imports nothing heavy.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

INF = math.inf
NAN = math.nan

# Set by `use_numpy()` the first time a batched (array) value is made.
np: Any = None


def use_numpy() -> Any:
    """Import NumPy on first need and return it (the scalar engine never imports it)."""
    global np
    if np is None:
        import numpy

        np = numpy
    return np


# ---------------------------------------------------------------------------------------------
# IEEE-safe scalar helpers (Python's float raises where IEEE returns inf or nan).


def divide(a: float, b: float) -> float:
    """a / b with IEEE results: 1/0 = inf, -1/0 = -inf, 0/0 = nan."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)


def power(x: float, y: float) -> float:
    """x ** y with IEEE results, as C's pow: never complex, never an exception."""
    try:
        return math.pow(x, y)
    except OverflowError:
        odd_integer = y == int(y) and int(y) % 2 == 1
        return -INF if (x < 0 and odd_integer) else INF
    except ValueError:
        # Either a negative base with a non-integer exponent (nan), or 0 ** negative (inf).
        if x == 0.0 and y < 0:
            odd_integer = y == int(y) and int(y) % 2 == 1
            return math.copysign(INF, x) if odd_integer else INF
        return NAN


def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -INF
    return NAN  # negative or nan


def sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)), written so that it never overflows for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    if x != x:
        return NAN
    e = exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------------------------
# The operations. Each `compute` takes operand data and returns (out, local_grads).


def _add(a, b):
    """a + b: d/da = 1, d/db = 1."""
    return a + b, (1.0, 1.0)


def _sub(a, b):
    return a - b, (1.0, -1.0)


def _mul(a, b):
    return a * b, (b, a)


def _div(a, b):
    if type(a) is float and type(b) is float:
        return divide(a, b), (divide(1.0, b), divide(-a, b * b))
    with np.errstate(all="ignore"):
        return a / b, (1.0 / b, -a / (b * b))


def _neg(a):
    return -a, (-1.0,)


def _pow_const(n: float):
    """x ** n for a constant number n: d/dx = n * x ** (n - 1)."""

    def compute(x):
        if type(x) is float:
            local = 0.0 if n == 0.0 else n * power(x, n - 1.0)
            return power(x, n), (local,)
        with np.errstate(all="ignore"):
            local = np.zeros_like(x) if n == 0.0 else n * np.power(x, n - 1.0)
            return np.power(x, n), (local,)

    return compute


def _pow(x, y):
    """x ** y with both sides values: d/dx = y * x**(y-1), d/dy = x**y * log(x).

    At x == 0 with y >= 0 the exponent's derivative is 0, as in PyTorch (the limit of
    x**y * log(x) as x -> 0+), not 0 * -inf = nan.
    """
    if type(x) is float and type(y) is float:
        out = power(x, y)
        dx = 0.0 if y == 0.0 else y * power(x, y - 1.0)
        dy = 0.0 if (x == 0.0 and y >= 0.0) else out * log(x)
        return out, (dx, dy)
    with np.errstate(all="ignore"):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        out = np.power(x, y)
        dx = np.where(y == 0.0, 0.0, y * np.power(x, y - 1.0))
        dy = np.where((x == 0.0) & (y >= 0.0), 0.0, out * np.log(x))
        return out, (dx, dy)


def _exp(x):
    if type(x) is float:
        out = exp(x)
    else:
        with np.errstate(all="ignore"):
            out = np.exp(x)
    return out, (out,)


def _log(x):
    if type(x) is float:
        return log(x), (divide(1.0, x),)
    with np.errstate(all="ignore"):
        return np.log(x), (1.0 / x,)


def tanh_slope(x):
    """d tanh(x)/dx = 1 - tanh(x)**2, computed as 4e / (1 + e)**2 with e = exp(-2|x|).

    The same number, but exact to the last bits for every finite x: 1 - tanh(x)**2 cancels to
    0 once tanh(x) rounds to +-1 (|x| > 19), while the true slope is 4 e^(-2|x|) > 0.
    """
    e = math.exp(-2.0 * abs(x)) if type(x) is float else np.exp(-2.0 * np.abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def sigmoid_slope(x):
    """d sigmoid(x)/dx = s (1 - s), computed as e / (1 + e)**2 with e = exp(-|x|).

    Exact and symmetric for every finite x (s (1 - s) is 0 for x > 37, where s rounds to 1).
    """
    e = math.exp(-abs(x)) if type(x) is float else np.exp(-np.abs(x))
    return e / ((1.0 + e) * (1.0 + e))


def _tanh(x):
    t = math.tanh(x) if type(x) is float else np.tanh(x)
    return t, (tanh_slope(x),)


def _sigmoid(x):
    if type(x) is float:
        s = sigmoid(x)
    else:
        # Exact for every finite input: exp of a non-positive number only.
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s, (sigmoid_slope(x),)


def _relu(x):
    if type(x) is float:
        if x > 0.0:
            return x, (1.0,)
        return (x if x != x else 0.0), (0.0,)
    return np.maximum(x, 0.0), ((x > 0.0).astype(float),)


def _abs(x):
    if type(x) is float:
        return abs(x), (math.copysign(1.0, x) if x != 0.0 else 0.0,)
    return np.abs(x), (np.sign(x),)


def _sum(*xs):
    """x_1 + ... + x_n, added left to right: d/dx_i = 1."""
    return sum(xs, 0.0), (1.0,) * len(xs)  # builtin sum: the loop in C (see `_linear`)


def _sum_of_squares(*xs):
    """x_1**2 + ... + x_n**2 (an L2 penalty in one node): d/dx_i = 2 x_i."""
    # the sum in C (map, sum); x + x is exactly 2x (the faster of the ways to write it here)
    return sum(map(operator.mul, xs, xs), 0.0), tuple([x + x for x in xs])


def _batch_sum(x):
    return float(x.sum()), (np.ones_like(x),)


def _batch_mean(x):
    return float(x.mean()), (np.full_like(x, 1.0 / x.shape[0]),)


# Activations that can be fused into a linear node: f(z) and f'(z) given z and f(z).
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "linear": (lambda z: z, lambda z, out: 1.0),
    "relu": (lambda z: _relu(z)[0], lambda z, out: _relu(z)[1][0]),
    "tanh": (lambda z: _tanh(z)[0], lambda z, out: tanh_slope(z)),
    "sigmoid": (lambda z: _sigmoid(z)[0], lambda z, out: sigmoid_slope(z)),
}


class LinearLayerGrads:
    """What the batched linear nodes made together (a layer's neurons, or one neuron) share.

    - `matrix` (k, n + 1): row j holds neuron j's weights, then its bias;
    - `slopes` (k, B): row j holds act'(z) of neuron j, one entry per sample;
    - `columns` (n + 1, B): the inputs x_1..x_n as rows, then a row of ones (the bias's
      "input"); `sources`: the input arrays it was stacked from;
    - `reads`: the input Values as one tuple, and `parameters`: the weight and bias Values in
      the order of `matrix`'s entries (both set by `linear_layer`, else None).

    A neuron made alone (`linear`) keeps its own row: `matrix` (n + 1,), `slopes` (B,).
    """

    __slots__ = ("matrix", "columns", "slopes", "sources", "reads", "parameters", "__weakref__")

    def __init__(
        self,
        matrix: Any,
        columns: Any,
        slopes: Any,
        sources: tuple,
        reads: Any = None,
        parameters: Any = None,
    ) -> None:
        self.matrix, self.columns, self.slopes = matrix, columns, slopes
        self.sources, self.reads, self.parameters = sources, reads, parameters


class LinearGrads:
    """The local derivatives of one batched linear node: row `row` of a `LinearLayerGrads`
    (`row` None: a node made alone, whose `matrix` and `slopes` are its own 1-D rows).

    For out = act(z), z = b + sum_i w_i x_i over a batch (scalar weights w and bias b, batched
    inputs x_i), with `slope` = act'(z) (one entry per sample):

        self[i]       = d out/d w_i = slope * x_i      (i < n)
        self[n + i]   = d out/d x_i = slope * w_i
        self[2n]      = d out/d b   = slope

    It behaves like the tuple of those 2n + 1 arrays (len, indexing, iteration, zip with the
    parents), but holds only a reference to what the layer's neurons share and its row there.
    Making the node costs no per-edge work, and backward reads a layer's arrays in bulk: the
    sums over the batch for every weight and bias of the layer are one product,
    (slopes * G) @ columns^T, with G the neurons' gradients as rows.
    """

    __slots__ = ("shared", "row", "__weakref__")

    def __init__(self, shared: LinearLayerGrads, row: int | None) -> None:
        self.shared, self.row = shared, row

    @property
    def weights(self) -> Any:
        """w_1..w_n, shape (n,)."""
        if self.row is None:
            return self.shared.matrix[:-1]
        return self.shared.matrix[self.row, :-1]

    @property
    def slope(self) -> Any:
        """act'(z), one entry per sample."""
        if self.row is None:
            return self.shared.slopes
        return self.shared.slopes[self.row]

    @property
    def columns(self) -> Any:
        """[x_1; ...; x_n; 1], shape (n + 1, B)."""
        return self.shared.columns

    @property
    def inputs(self) -> Any:
        """The inputs x_1..x_n as the rows of an (n, B) array."""
        return self.shared.columns[:-1]

    def __len__(self) -> int:
        return 2 * self.shared.matrix.shape[-1] - 1

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        n, size = self.shared.matrix.shape[-1] - 1, len(self)
        i = index + size if index < 0 else index
        if not 0 <= i < size:
            raise IndexError(f"local derivative {index} out of range for {size} parents")
        if i < n:
            return self.slope * self.columns[i]
        if i < 2 * n:
            return self.slope * self.weights[i - n]
        return self.slope

    def __iter__(self) -> Any:
        slope = self.slope
        yield from slope * self.inputs
        yield from np.multiply.outer(self.weights, slope)
        yield slope

    def __repr__(self) -> str:
        return f"LinearGrads({len(self)} local derivatives, batch of {len(self.slope)})"


# What the last batched linear nodes made share, held weakly (so a dropped graph frees its
# arrays). The neurons of a layer all read the same inputs, so they share its stacked
# `columns`. Valid because batched data is never changed in place (other nodes' local
# derivatives hold the very same arrays too).
_last_linear: Callable[[], LinearLayerGrads | None] = lambda: None


def _stack(xs: tuple) -> Any:
    """[x_1; ...; x_n; 1] as an (n + 1, B) array, shared with the last linear node if it can."""
    last = _last_linear()
    if (
        last is not None
        and len(last.sources) == len(xs)
        and all(map(operator.is_, xs, last.sources))
    ):
        return last.columns
    size = len(xs[0])
    ones = _ONES.get(size)
    if ones is None:
        if len(_ONES) >= 8:
            _ONES.clear()
        ones = _ONES[size] = np.ones(size)
        ones.flags.writeable = False
    return np.array((*xs, ones))


_ONES: dict[int, Any] = {}  # a read-only row of ones for each batch size met


def _activate(activation: str, z: Any) -> tuple[Any, Any]:
    """(act(z), act'(z)) elementwise, for an array z of any shape."""
    if activation == "relu":
        return np.maximum(z, 0.0), (z > 0.0).astype(float)
    if activation == "linear":
        return z, np.ones_like(z)
    out = ACTIVATIONS[activation][0](z)
    return out, ACTIVATIONS[activation][1](z, out)


def _linear_batch(activation: str, ws: tuple, xs: tuple, b: Any) -> Any:
    """The batched linear node in a few NumPy calls: z = [w, b] @ [X; 1], out = act(z).

    Returns None unless the weights and bias are scalars and every input is a batch of the same
    size (the shape of a network's neuron); other mixes take the elementwise path.
    """
    global _last_linear
    if type(b) is not float:
        return None
    try:
        weights = np.array((*ws, b), dtype=float)
        columns = _stack(xs)
    except (ValueError, TypeError):  # a mix of numbers and arrays, or arrays of unequal sizes
        sizes = sorted({len(x) for x in (*ws, *xs, b) if type(x) is not float})
        if len(sizes) > 1:
            raise ValueError(
                f"linear() got batches of different sizes ({', '.join(map(str, sizes))}): "
                "every batched input must hold one entry per sample of the same batch"
            ) from None
        return None
    if weights.ndim != 1 or columns.ndim != 2:
        return None
    out, slope = _activate(activation, weights @ columns)
    shared = LinearLayerGrads(weights, columns, slope, xs)
    _last_linear = weakref.ref(shared)
    return out, LinearGrads(shared, None)


def linear_layer_batch(
    activation: str,
    flat: list,
    count: int,
    xs: tuple,
    reads: tuple | None = None,
    parameters: list | None = None,
) -> Any:
    """A layer of batched linear nodes at once: Z = [W, b] @ [X; 1], one matrix product.

    `flat` holds, neuron after neuron, each neuron's weights then its bias (numbers); `count`
    is the number of neurons, `xs` the batched inputs (arrays) they all read; `reads` the
    Values those arrays are the data of and `parameters` the Values `flat` holds the data of
    (both kept on what the nodes' local derivatives share). Returns
    (rows of act(Z), local derivatives per neuron): exactly what `linear` would make for each
    neuron; or None when the operands do not have that shape (then use `linear` per neuron).
    """
    global _last_linear
    try:
        matrix = np.array(flat, dtype=float)
        columns = _stack(xs)
    except (ValueError, TypeError):
        return None
    if matrix.ndim != 1 or columns.ndim != 2 or matrix.size != count * columns.shape[0]:
        return None
    matrix = matrix.reshape(count, columns.shape[0])
    outs, slopes = _activate(activation, matrix @ columns)
    shared = LinearLayerGrads(matrix, columns, slopes, xs, reads, parameters)
    _last_linear = weakref.ref(shared)
    return outs, [LinearGrads(shared, j) for j in range(count)]


def _linear(activation: str):
    """act(b + sum_i w_i * x_i) as one node; parents are (w_1..w_n, x_1..x_n, b).

    d/dw_i = act'(z) * x_i,  d/dx_i = act'(z) * w_i,  d/db = act'(z).
    """
    # The activation's own row gives act(z) and act'(z) together (tanh, sigmoid: one exp)
    rule = {"relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid}.get(activation)

    def compute(*operands):
        n = (len(operands) - 1) // 2
        ws, xs, b = operands[:n], operands[n : 2 * n], operands[2 * n]
        if n and type(xs[0]) is not float:  # a batch: the vectorized path, if it fits
            done = _linear_batch(activation, ws, xs, b)
            if done is not None:
                return done
        # z = b + w_1 x_1 + ... + w_n x_n, added left to right as the same neuron made of `+`
        # and `*` nodes adds it; map and sum do the loop in C (most of a network's forward).
        # (Python 3.12+ sums floats with compensation: then z can differ in the last bit.)
        z = sum(map(operator.mul, ws, xs), b)
        if type(z) is float:  # every operand a number (any array would make z one)
            if activation == "relu":  # the common case, inlined
                if z > 0.0:
                    return z, (*xs, *ws, 1.0)
                return (z if z != z else 0.0), (0.0,) * len(operands)
            if activation == "linear":  # act' = 1, and 1.0 * x is exactly x
                return z, (*xs, *ws, 1.0)
        if rule is None:  # linear
            out, d = z, 1.0
        else:
            out, (d,) = rule(z)
        return out, (*[d * x for x in xs], *[d * w for w in ws], d)

    return compute


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One row of the table: how the node is written and its local derivatives.

    `expression` writes the node from its operands' names `{0}`, `{1}`, ...;
    `derivative(i, names)` writes d out / d operand_i as a formula in the operands' names.
    `compute(*data)` returns (out, local_grads) for operand data.
    """

    name: str
    expression: Callable[[list[str]], str]
    derivative: Callable[[int, list[str]], str]
    compute: Callable[..., tuple[Any, tuple]]


def _templates(expression: str, *derivatives: str):
    def write(names: list[str]) -> str:
        return expression.format(*names)

    def derive(i: int, names: list[str]) -> str:
        return derivatives[i].format(*names)

    return write, derive


def _row(name: str, compute, expression: str, *derivatives: str) -> Operation:
    write, derive = _templates(expression, *derivatives)
    return Operation(name, write, derive, compute)


OPERATIONS: dict[str, Operation] = {
    row.name: row
    for row in [
        _row("+", _add, "{0} + {1}", "1", "1"),
        _row("-", _sub, "{0} - {1}", "1", "-1"),
        _row("*", _mul, "{0} * {1}", "{1}", "{0}"),
        _row("/", _div, "{0} / {1}", "1/{1}", "-{0}/{1}^2"),
        _row("neg", _neg, "-{0}", "-1"),
        _row("**", _pow, "{0} ** {1}", "{1} * {0}^({1} - 1)", "{0}^{1} * log({0})"),
        _row("exp", _exp, "exp({0})", "exp({0})"),
        _row("log", _log, "log({0})", "1/{0}"),
        _row("tanh", _tanh, "tanh({0})", "1 - tanh({0})^2"),
        _row("sigmoid", _sigmoid, "sigmoid({0})", "sigmoid({0}) * (1 - sigmoid({0}))"),
        _row("relu", _relu, "relu({0})", "(1 if {0} > 0 else 0)"),
        _row("abs", _abs, "abs({0})", "sign({0})"),
        _row("batch_sum", _batch_sum, "sum over batch of {0}", "1"),
        _row("batch_mean", _batch_mean, "mean over batch of {0}", "1/B"),
        Operation(
            "sum",
            lambda names: " + ".join(names),
            lambda i, names: "1",
            _sum,
        ),
        Operation(
            "sum_of_squares",
            lambda names: " + ".join(f"{name}^2" for name in names),
            lambda i, names: f"2 * {names[i]}",
            _sum_of_squares,
        ),
    ]
}


def _linear_row(activation: str) -> Operation:
    name = "linear" if activation == "linear" else f"{activation}(linear)"
    prime = {
        "linear": "",
        "relu": "(1 if z > 0 else 0) * ",
        "tanh": "(1 - tanh(z)^2) * ",
        "sigmoid": "sigmoid(z) * (1 - sigmoid(z)) * ",
    }[activation]

    def write(names: list[str]) -> str:
        n = (len(names) - 1) // 2
        terms = " + ".join(f"{w}*{x}" for w, x in zip(names[:n], names[n : 2 * n]))
        z = f"{names[-1]} + {terms}" if terms else names[-1]
        return z if activation == "linear" else f"{activation}({z})"

    def derive(i: int, names: list[str]) -> str:
        n = (len(names) - 1) // 2
        if i < n:
            factor = names[n + i]
        elif i < 2 * n:
            factor = names[i - n]
        else:
            factor = "1"
        if not prime:
            return factor
        return prime + factor if factor != "1" else prime[:-3]

    return Operation(name, write, derive, _linear(activation))


for _activation in ACTIVATIONS:
    _op = _linear_row(_activation)
    OPERATIONS[_op.name] = _op

LINEAR_OPS = {a: ("linear" if a == "linear" else f"{a}(linear)") for a in ACTIVATIONS}


@lru_cache(maxsize=256)
def power_operation(n: float) -> Operation:
    """The row for x ** n with a constant exponent n (a one-parent node, op '**n')."""
    shown = _number(n)
    return _row(f"**{shown}", _pow_const(n), "{0}**" + shown, shown + " * {0}^" + _number(n - 1))


def _number(n: float) -> str:
    return str(int(n)) if abs(n) < 1e15 and n == int(n) else repr(n)  # nan, inf: repr


def operation(op: str) -> Operation:
    """The table row for a node's `op` string (a constant power `**n` is made on demand)."""
    row = OPERATIONS.get(op)
    if row is not None:
        return row
    if op.startswith("**"):
        return power_operation(float(op[2:]))
    raise KeyError(f"no operation named {op!r}")
